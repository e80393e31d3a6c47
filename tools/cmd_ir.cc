// bitjit ir: prints the IR graph of a model, as lowered or after passes.
#include <gflags/gflags.h>

#include <algorithm>
#include <cstdio>

#include "frontend/lowering/lower_bitnet.h"
#include "ir/base/error.h"
#include "ir/printer.h"
#include "passes/pass.h"
#include "runtime/schedule.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/model_loading.h"

DEFINE_string(after, "", "run the default pipeline up to and including this pass, then print");
DEFINE_bool(print_after_all, false, "print the graph after every pass of the default pipeline");
DEFINE_bool(schedule, true,
            "with --plan, or --after weight-layout or a later pass: also print the schedule that "
            "runs (each step's kernels)");

namespace bitjit::cli {
namespace {

int RunIr(const Args& args) {
  if (!args.positional.empty()) Fail("ir takes no arguments (got '", args.positional[0], "')");
  auto model = LoadModelFromFlags(
      {.ternary_packing = "", .lm_head = "", .isa = "", .use_plan_cache = false});
  if (model->from_plan()) {
    if (!FLAGS_after.empty() || FLAGS_print_after_all) Fail("a plan's graph is already optimized");
    std::printf("// plan %s: isa %s\n%s", FLAGS_plan.c_str(), model->isa_name().c_str(),
                ir::Print(model->graph()).c_str());
    if (FLAGS_schedule) std::fputs(model->schedule().Describe().c_str(), stdout);
    return 0;
  }
  // The model's graph is shared read-only; passes run on a copy made by lowering again.
  auto graph = LowerBitnet(model->file(), model->config(), model->options().numerics);
  if (FLAGS_after.empty() && !FLAGS_print_after_all) {
    std::fputs(ir::Print(*graph).c_str(), stdout);
    return 0;
  }
  std::vector<std::string> names;
  for (const std::string& n : passes::PassNames()) {
    names.push_back(n);
    if (n == FLAGS_after) break;
  }
  if (!FLAGS_after.empty() && names.back() != FLAGS_after) {
    passes::Pipeline({FLAGS_after});  // throws "unknown pass ..." with the list
  }
  passes::Pipeline(names).Run(
      graph.get(),
      [](std::string_view pass, bool changed, const ir::Graph& g) {
        if (FLAGS_print_after_all || pass == FLAGS_after) {
          std::printf("// after %.*s (%s)\n%s", static_cast<int>(pass.size()), pass.data(),
                      changed ? "changed" : "unchanged", ir::Print(g).c_str());
        }
      },
      Model::TargetContext(FLAGS_isa, FLAGS_ternary_packing));
  // From weight-layout on, the printed graph is the one the model runs (the passes after it
  // only plan memory): its schedule says which kernel each step runs.
  const std::vector<std::string> all = passes::PassNames();
  const auto layout = std::find(all.begin(), all.end(), "weight-layout");
  const bool runs = FLAGS_print_after_all || std::find(layout, all.end(), FLAGS_after) != all.end();
  if (FLAGS_schedule && runs) std::fputs(model->schedule().Describe().c_str(), stdout);
  return 0;
}

}  // namespace

BITJIT_COMMAND(
    ir, "ir", "print a model's IR graph, as lowered or after passes, and the schedule that runs it",
    "[-m MODEL] [--after PASS | --print-after-all] [--schedule=false] | --plan PLAN",
    {BITJIT_MODEL_FLAGS, "after", "print_after_all", "schedule"}, &RunIr);

}  // namespace bitjit::cli
