// weight-layout: decides, once at compile time, the packed layout each ternary weight will be
// repacked into: rows interleaved in tiles of R rows (one vector lane per row), the token
// block of the prefill kernel, and 4 or 5 codes per byte (2 or 1.6 bits), as the target's
// chooser says (ISA default, --ternary-packing, or the tuning cache's winner). Codegen then repacks
// the I2_S bytes into exactly that layout (and a plan stores the result), so the decision is
// visible in the IR and reproducible. Without a target (the interpreter) the pass leaves the graph
// alone.
#pragma once

#include "passes/pass.h"

namespace bitjit::passes {

class WeightLayout : public Pass {
 public:
  std::string_view name() const override { return "weight-layout"; }
  std::string_view description() const override {
    return "choose each ternary weight's packed layout (tile rows, token block) for the target";
  }
  bool run(ir::Graph* graph) override;
};

}  // namespace bitjit::passes
