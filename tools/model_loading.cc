#include "tools/model_loading.h"

#include <gflags/gflags.h>
#include <glog/logging.h>

#include "codegen/cpu_features.h"
#include "ir/base/error.h"
#include "runtime/lm_head/lm_head_type.h"
#include "tools/default_model.h"
#include "tools/flags.h"
#include "tools/thread_count.h"
#include "tools/tokenizer_flags.h"

namespace bitjit::cli {
bool UsingDefaultModel() {
  return FLAGS_m.empty() && FLAGS_plan.empty();
}

std::string ModelPathFromFlags() {
  return FLAGS_m.empty() ? DefaultModelPath() : FLAGS_m;
}

std::unique_ptr<Model> LoadModelFromFlags(const ModelOverrides& overrides) {
  const std::string& lm_head = overrides.lm_head.empty() ? FLAGS_lm_head : overrides.lm_head;
  const std::string& packing =
      overrides.ternary_packing.empty() ? FLAGS_ternary_packing : overrides.ternary_packing;
  if (!FLAGS_plan.empty()) {
    // A plan holds kernels compiled for one ISA with one numerics: these flags would be ignored.
    for (const char* flag : {"isa", "numerics"}) {
      if (!gflags::GetCommandLineFlagInfoOrDie(flag).is_default) {
        Fail("--", flag, " does not apply to --plan (the plan runs what it was compiled with); ",
             "drop --", flag, " or give it to bitjit compile");
      }
    }
  }
  ModelOptions options;
  if (FLAGS_numerics == "bitnet") {
    options.numerics = ir::Numerics::kBitnet;
  } else if (FLAGS_numerics == "f32") {
    options.numerics = ir::Numerics::kF32;
  } else {
    Fail("--numerics must be bitnet or f32, not '", FLAGS_numerics, "'");
  }
  options.pre_tokenizer = ParsePreTokenizerKind(FLAGS_pre_tokenizer);
  const std::string& isa = overrides.isa.empty() ? FLAGS_isa : overrides.isa;
  if (!isa.empty() && isa != "ref") {
    // Validate now so that a typo or a capability the CPU lacks is reported before loading.
    codegen::ResolveIsa(codegen::ParseIsa(isa));
  }
  options.isa = isa;
  // --lm-head: checked now (typos); unset means f16, or the plan's own with --plan.
  lm_head::ParseLmHeadType(lm_head);
  options.lm_head = lm_head.empty() && FLAGS_plan.empty() ? "f16" : lm_head;
  Model::ParsePackingOption(packing);  // typos, before loading
  options.ternary_packing = packing;
  options.n_threads = FLAGS_t;
  CheckThreadCount(FLAGS_t, "-t");
  if (FLAGS_c < 0) Fail("-c must not be negative");
  if (!FLAGS_plan.empty()) return Model::LoadPlan(FLAGS_plan, options, FLAGS_m);
  return Model::Load(ModelPathFromFlags(), options);
}

}  // namespace bitjit::cli
