// merge-matmuls: bitlinears that read the same input with the same prologue (Q, K and V;
// gate and up) become one bitlinear with several weights, so the input is normalized and
// quantized once and one kernel launch streams all the weights.
#pragma once

#include "passes/pass.h"

namespace bitjit::passes {

class MergeBitLinears : public Pass {
 public:
  std::string_view name() const override { return "merge-matmuls"; }
  std::string_view description() const override {
    return "merge bitlinears sharing an input (QKV, gate/up) into one";
  }
  bool run(ir::Graph* graph) override;
};

}  // namespace bitjit::passes
