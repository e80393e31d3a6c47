// RMSNorm without a weight (the norm + weight of a bitlinear's input is fused into its
// prologue, bitlinear.cc). The JIT path's rows use AVX2 with the reference's sums and roundings.
#include "codegen/ref/ref_kernels.h"
#include "codegen/simd/rms_norm_avx2.h"
#include "runtime/ops/op_step.h"
#include "runtime/ops/step_context.h"

namespace bitjit::ops {
namespace {

template <bool kSimd>
class RmsNormStep : public OpStep {
 public:
  explicit RmsNormStep(const ir::Node& node) : OpStep(node, kSimd ? "RmsNormRowsAvx2" : "ref") {}
  void Run(StepContext& ctx) const override {
    const ir::Value* x = node_.operands[0];
    const int64_t rows = ctx.Dim(x->shape[0]), n = x->shape[1];
    if (kSimd) {
      kernels::RmsNormRowsAvx2(ctx.Data(x), rows, n, node_.attrs.eps, nullptr,
                               ctx.Data(node_.result()));
    } else {
      ref::RmsNorm(ctx.Data(x), rows, n, node_.attrs.eps, ctx.Data(node_.result()));
    }
  }
};

}  // namespace

std::unique_ptr<OpStep> PrepareRmsNorm(const ir::Node& node, const PrepareContext& ctx) {
  if (ctx.compiled) return std::make_unique<RmsNormStep<true>>(node);
  return std::make_unique<RmsNormStep<false>>(node);
}

}  // namespace bitjit::ops
