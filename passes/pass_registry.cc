// The one list of passes. Add a pass here, once, in the order the default pipeline runs it.
#include <functional>

#include "ir/base/error.h"
#include "ir/verifier.h"
#include "passes/dead_code_elimination.h"
#include "passes/form_bitlinear.h"
#include "passes/fuse_epilogues.h"
#include "passes/fuse_norm.h"
#include "passes/merge_bitlinears.h"
#include "passes/plan_memory.h"
#include "passes/weight_layout.h"
#include "passes/pass.h"

namespace bitjit::passes {
namespace {

struct Entry {
  const char* name;
  std::function<std::unique_ptr<Pass>()> create;
};

const std::vector<Entry>& Entries() {
  static const std::vector<Entry> entries = {
      {"form-bitlinear", [] { return std::make_unique<FormBitLinear>(); }},
      {"fuse-norm", [] { return std::make_unique<FuseNorm>(); }},
      {"merge-matmuls", [] { return std::make_unique<MergeBitLinears>(); }},
      {"fuse-glu", [] { return std::make_unique<FuseGlu>(); }},
      {"fuse-residual", [] { return std::make_unique<FuseResidual>(); }},
      {"dce", [] { return std::make_unique<DeadCodeElimination>(); }},
      {"weight-layout", [] { return std::make_unique<WeightLayout>(); }},
      {"plan-memory", [] { return std::make_unique<PlanMemory>(); }},
  };
  return entries;
}

}  // namespace

std::vector<std::string> PassNames() {
  std::vector<std::string> names;
  for (const Entry& e : Entries()) names.push_back(e.name);
  return names;
}

std::unique_ptr<Pass> CreatePass(std::string_view name) {
  for (const Entry& e : Entries())
    if (name == e.name) return e.create();
  return nullptr;
}

Pipeline::Pipeline(const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    auto pass = CreatePass(n);
    if (!pass) {
      std::string known;
      for (const std::string& k : PassNames()) known += (known.empty() ? "" : ", ") + k;
      Fail("unknown pass '", n, "' (passes: ", known, ")");
    }
    passes_.push_back(std::move(pass));
  }
}

void Pipeline::Run(ir::Graph* graph, const Observer& observer, const PassContext& context) const {
  for (const auto& pass : passes_) {
    pass->set_context(&context);
    const bool changed = pass->run(graph);
    pass->set_context(nullptr);
    ir::VerifyOrThrow(*graph, "after pass " + std::string(pass->name()));
    if (observer) observer(pass->name(), changed, *graph);
  }
}

}  // namespace bitjit::passes
