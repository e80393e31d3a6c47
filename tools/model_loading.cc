#include "tools/model_loading.h"

#include <gflags/gflags.h>
#include <glog/logging.h>

#include <cstdio>
#include <filesystem>
#include <limits>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/lm_head_type.h"
#include "ir/base/error.h"
#include "runtime/plan/plan_cache.h"
#include "tools/default_model.h"
#include "tools/flags.h"
#include "tools/thread_count.h"
#include "tools/tokenizer_flags.h"

DEFINE_string(plan_cache, "auto",
              "keep each model's compiled plan in a cache folder and map it on the next start: "
              "auto (models of 64 MiB and more, in $XDG_CACHE_HOME/bitjit/plans or "
              "~/.cache/bitjit/plans) | off | a folder (any model)");

namespace bitjit::cli {
namespace {

// The folder to cache `model`'s plan in, or "" for none.
std::string PlanCacheDir(const std::string& model, bool wanted) {
  if (!wanted || FLAGS_plan_cache == "off") return {};
  if (FLAGS_plan_cache != "auto") return FLAGS_plan_cache;
  // Small models compile in well under a second: not worth a copy of their weights on disk.
  constexpr uintmax_t kMinBytes = 64ull << 20;
  std::error_code ec;
  const uintmax_t bytes = std::filesystem::file_size(model, ec);
  return !ec && bytes >= kMinBytes ? DefaultPlanCacheDir() : std::string();
}

}  // namespace

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
  // --mmap: in place; --mmap=false: copied; neither: as the sidecar's pages allow.
  if (!gflags::GetCommandLineFlagInfoOrDie("mmap").is_default)
    options.plan_weights = FLAGS_mmap ? PlanWeights::kMap : PlanWeights::kCopy;
  CheckThreadCount(FLAGS_t, "-t");
  if (FLAGS_c < 0) Fail("-c must not be negative");
  if (!FLAGS_plan.empty()) return Model::LoadPlan(FLAGS_plan, options, FLAGS_m);
  const std::string path = ModelPathFromFlags();
  const std::string cache = PlanCacheDir(path, overrides.use_plan_cache && !UsingDefaultModel());
  if (cache.empty()) return Model::Load(path, options);
  PlanCacheResult loaded = LoadThroughPlanCache(path, options, cache, 4,
                                                overrides.plan_cache_in_background
                                                    ? kBackgroundSaveBytes
                                                    : std::numeric_limits<uint64_t>::max());
  if (!loaded.note.empty()) std::fprintf(stderr, "bitjit: %s\n", loaded.note.c_str());
  return std::move(loaded.model);
}

}  // namespace bitjit::cli
