// fuse-norm: bitlinear(mul(rms_norm(x), w)) -> bitlinear(x) with an rmsnorm·w prologue, when
// the normalized value feeds only bitlinears. The norm then runs inside the matmul's
// quantization prologue and its f32 output is never stored.
#pragma once

#include "passes/pass.h"

namespace bitjit::passes {

class FuseNorm : public Pass {
 public:
  std::string_view name() const override { return "fuse-norm"; }
  std::string_view description() const override {
    return "fold rmsnorm·weight into the quantization prologue of the bitlinears it feeds";
  }
  bool run(ir::Graph* graph) override;
};

}  // namespace bitjit::passes
