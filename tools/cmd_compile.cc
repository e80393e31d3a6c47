// bitjit compile: lower, optimize, pick and generate kernels, repack weights, and save all of
// it as a plan that `run --plan` loads without redoing any of it.
#include <chrono>
#include <cstdio>

#include "ir/base/error.h"
#include "ir/base/output_path.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/model_loading.h"

namespace bitjit::cli {
namespace {

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int RunCompile(const Args& args) {
  if (!args.positional.empty()) Fail("compile takes no arguments (got '", args.positional[0], "')");
  if (FLAGS_o.empty()) Fail("compile needs an output file: -o MODEL.plan");
  if (FLAGS_isa == "ref") Fail("--isa ref runs the interpreter; a plan holds JIT kernels");
  CheckOutputPath(FLAGS_o);  // before the compile, not after it (SavePlan checks again)
  const auto start = std::chrono::steady_clock::now();
  auto model = LoadModelFromFlags({.ternary_packing = "", .lm_head = "", .isa = "", .use_plan_cache = false});
  const double compile_s = Since(start);
  const auto save_start = std::chrono::steady_clock::now();
  const Model::PlanStats stats = model->SavePlan(FLAGS_o);
  std::printf(
      "wrote %s (%llu bytes) and %s.weights (%llu bytes): %d ternary kernels for %s; "
      "compile %.2f s, save %.2f s\n",
      FLAGS_o.c_str(), static_cast<unsigned long long>(stats.plan_bytes), FLAGS_o.c_str(),
      static_cast<unsigned long long>(stats.sidecar_bytes), stats.n_kernels,
      model->isa_name().c_str(), compile_s, Since(save_start));
  return 0;
}

}  // namespace

BITJIT_COMMAND(compile, "compile",
               "compile a model to a plan (optimized graph, kernels, repacked weights)",
               "-m MODEL -o MODEL.plan [--isa avx2|avx512|avx512vnni|avxvnni|avx512amx] "
               "[--lm-head f16|q8_0|q6_k] [--ternary-packing auto|2bit|1.6bit]",
               {"m", "numerics", "pre_tokenizer", "isa", "o", "lm_head", "ternary_packing",
                "tuning_cache"},
               &RunCompile);

}  // namespace bitjit::cli
