// form-bitlinear: ternary_matmul(quantize_act(x)) -> bitlinear(x, w). Makes the activation
// quantization part of the matmul op, so kernels can quantize in their prologue.
#pragma once

#include "passes/pass.h"

namespace bitjit::passes {

class FormBitLinear : public Pass {
 public:
  std::string_view name() const override { return "form-bitlinear"; }
  std::string_view description() const override {
    return "ternary_matmul(quantize_act(x)) -> bitlinear(x)";
  }
  bool run(ir::Graph* graph) override;
};

}  // namespace bitjit::passes
