// Element-wise ops of the unfused graph: mul and add (a rank-1 right operand broadcasts over
// rows), relu², and SiLU (ggml's expf; AVX2 on the JIT path, bit for bit the reference's).
#include "codegen/ref/ref_kernels.h"
#include "codegen/simd/elementwise_avx2.h"
#include "runtime/ops/op_step.h"
#include "runtime/ops/step_context.h"

namespace bitjit::ops {
namespace {

template <bool kMul>
class BinaryStep : public OpStep {
 public:
  explicit BinaryStep(const ir::Node& node) : OpStep(node, "portable") {}
  void Run(StepContext& ctx) const override {
    const ir::Value* yv = node_.operands[1];
    const int64_t count = ctx.Count(node_.result());
    const int64_t width = yv->shape.rank() == 1 ? yv->shape[0] : count;
    const float* x = ctx.Data(node_.operands[0]);
    const float* y = ctx.Data(yv);
    float* out = ctx.Data(node_.result());
    for (int64_t i = 0; i < count; ++i) out[i] = kMul ? x[i] * y[i % width] : x[i] + y[i % width];
  }
};

class ReluSqrStep : public OpStep {
 public:
  explicit ReluSqrStep(const ir::Node& node) : OpStep(node, "portable") {}
  void Run(StepContext& ctx) const override {
    const int64_t count = ctx.Count(node_.result());
    const float* x = ctx.Data(node_.operands[0]);
    float* out = ctx.Data(node_.result());
    for (int64_t i = 0; i < count; ++i) {
      const float r = x[i] > 0.0f ? x[i] : 0.0f;
      out[i] = r * r;
    }
  }
};

template <bool kSimd>
class SiluStep : public OpStep {
 public:
  explicit SiluStep(const ir::Node& node) : OpStep(node, kSimd ? "SiluMulAvx2" : "ref") {}
  void Run(StepContext& ctx) const override {
    const int64_t count = ctx.Count(node_.result());
    const float* x = ctx.Data(node_.operands[0]);
    float* out = ctx.Data(node_.result());
    if (kSimd) {
      kernels::SiluMulAvx2(x, nullptr, count, out);
    } else {
      for (int64_t i = 0; i < count; ++i) out[i] = ref::Silu(x[i]);
    }
  }
};

}  // namespace

std::unique_ptr<OpStep> PrepareMul(const ir::Node& node, const PrepareContext&) {
  return std::make_unique<BinaryStep<true>>(node);
}

std::unique_ptr<OpStep> PrepareAdd(const ir::Node& node, const PrepareContext&) {
  return std::make_unique<BinaryStep<false>>(node);
}

std::unique_ptr<OpStep> PrepareReluSqr(const ir::Node& node, const PrepareContext&) {
  return std::make_unique<ReluSqrStep>(node);
}

std::unique_ptr<OpStep> PrepareSilu(const ir::Node& node, const PrepareContext& ctx) {
  if (ctx.compiled) return std::make_unique<SiluStep<true>>(node);
  return std::make_unique<SiluStep<false>>(node);
}

}  // namespace bitjit::ops
