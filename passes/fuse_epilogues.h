// Epilogue fusions of bitlinear:
//   fuse-glu:      mul(relu_sqr(gate), up) where gate and up are the two results of one merged
//                  bitlinear -> that bitlinear with a relu_sqr_mul epilogue (one result);
//   fuse-residual: add(r, y) where y is the only result of a bitlinear -> that bitlinear with a
//                  residual_add epilogue reading r.
// Either way the intermediate f32 tensors are never written to memory.
#pragma once

#include "passes/pass.h"

namespace bitjit::passes {

class FuseGlu : public Pass {
 public:
  std::string_view name() const override { return "fuse-glu"; }
  std::string_view description() const override {
    return "relu(gate)^2 * up into the gate/up bitlinear's epilogue";
  }
  bool run(ir::Graph* graph) override;
};

class FuseResidual : public Pass {
 public:
  std::string_view name() const override { return "fuse-residual"; }
  std::string_view description() const override {
    return "residual add into the epilogue of the bitlinear that feeds it";
  }
  bool run(ir::Graph* graph) override;
};

}  // namespace bitjit::passes
