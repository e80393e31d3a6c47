// Rotary position embedding, NEOX (pairs i, i + D/2: bitnet-b1.58) or NORM (pairs 2i, 2i + 1:
// llama), with bitnet.cpp's float32 angle recurrence. The JIT path rotates tokens in parallel
// with AVX2 (bit for bit the reference's roundings).
#include <cstring>
#include <vector>

#include "codegen/ref/ref_kernels.h"
#include "codegen/simd/elementwise_avx2.h"
#include "ir/base/error.h"
#include "runtime/ops/op_step.h"
#include "runtime/ops/step_context.h"

namespace bitjit::ops {
namespace {

using RotateFn = void (*)(float* x, int n_head, int head_dim, const float* cos_t,
                          const float* sin_t, bool bitnet_numerics);

class ReferenceRopeStep : public OpStep {
 public:
  explicit ReferenceRopeStep(const ir::Node& node) : OpStep(node, "ref") {}
  void Run(StepContext& ctx) const override {
    const ir::Attrs& a = node_.attrs;
    const bool bitnet = a.numerics == ir::Numerics::kBitnet;
    const RotateFn rotate =
        a.rope_type == ir::RopeType::kNorm ? ref::RopeNormRotate : ref::RopeNeoxRotate;
    const int64_t width = node_.result()->shape[1];
    float* out = ctx.Data(node_.result());
    std::memcpy(out, ctx.Data(node_.operands[0]), ctx.n_tokens * width * sizeof(float));
    const int32_t* pos = ctx.Data<int32_t>(node_.operands[1]);
    std::vector<float> cos_t(a.head_dim / 2), sin_t(a.head_dim / 2);
    for (int64_t t = 0; t < ctx.n_tokens; ++t) {
      ref::RopeAngles(pos[t], a.head_dim, a.rope_base, bitnet, cos_t.data(), sin_t.data());
      rotate(out + t * width, a.n_head, a.head_dim, cos_t.data(), sin_t.data(), bitnet);
    }
  }
};

class JitRopeStep : public OpStep {
 public:
  explicit JitRopeStep(const ir::Node& node)
      : OpStep(node, node.attrs.numerics == ir::Numerics::kBitnet ? RotateName(node) : "ref") {
    if (node.attrs.head_dim > 512) Fail("rope: head_dim ", node.attrs.head_dim, " (at most 512)");
  }
  void Run(StepContext& ctx) const override {
    const ir::Attrs& a = node_.attrs;
    const bool bitnet = a.numerics == ir::Numerics::kBitnet;
    const bool norm = a.rope_type == ir::RopeType::kNorm;
    const int64_t width = node_.result()->shape[1];
    float* out = ctx.Data(node_.result());
    std::memcpy(out, ctx.Data(node_.operands[0]), ctx.n_tokens * width * sizeof(float));
    const int32_t* pos = ctx.Data<int32_t>(node_.operands[1]);
    ctx.pool.ParallelFor(ctx.n_tokens, [&](int64_t t, int) {
      float cos_t[256], sin_t[256];  // head_dim <= 512 (the attention kernel's bound)
      ref::RopeAngles(pos[t], a.head_dim, a.rope_base, bitnet, cos_t, sin_t);
      float* row = out + t * width;
      if (bitnet) {
        (norm ? kernels::RopeNormRotateAvx2 : kernels::RopeNeoxRotateAvx2)(
            row, a.n_head, a.head_dim, cos_t, sin_t);
      } else {
        (norm ? ref::RopeNormRotate : ref::RopeNeoxRotate)(row, a.n_head, a.head_dim, cos_t, sin_t,
                                                           false);
      }
    });
  }

 private:
  static std::string RotateName(const ir::Node& node) {
    return node.attrs.rope_type == ir::RopeType::kNorm ? "RopeNormRotateAvx2"
                                                       : "RopeNeoxRotateAvx2";
  }
};

}  // namespace

std::unique_ptr<OpStep> PrepareRope(const ir::Node& node, const PrepareContext& ctx) {
  if (ctx.compiled) return std::make_unique<JitRopeStep>(node);
  return std::make_unique<ReferenceRopeStep>(node);
}

}  // namespace bitjit::ops
