// plan-memory: liveness-based placement of every activation in one arena per step.
//
// All activations have a batch dimension (T tokens, or R <= T logits rows), so a value's size
// is (bytes per token) x T. Offsets are planned once in bytes per token and scaled by T at run
// time: one plan serves every batch size. Values whose live ranges (definition to last use in
// node order) do not overlap share space; first fit, 64-byte granules, so every row of a
// buffer stays cache-line aligned for any T.
#pragma once

#include "passes/pass.h"

namespace bitjit::passes {

class PlanMemory : public Pass {
 public:
  static constexpr int64_t kAlign = 64;
  std::string_view name() const override { return "plan-memory"; }
  std::string_view description() const override {
    return "place activations in one arena by liveness (offsets in bytes per token)";
  }
  bool run(ir::Graph* graph) override;
};

// Bytes per batch token of an activation value (0 for values not in the arena).
int64_t BytesPerToken(const ir::Value& v);

}  // namespace bitjit::passes
