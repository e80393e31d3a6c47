// The unfused graph's activation quantization and ternary matmul, as lowering writes them:
// reference only. The JIT path runs them fused into bitlinears (bitlinear.cc), after the
// form-bitlinear pass.
#include <vector>

#include "codegen/ref/ref_kernels.h"
#include "codegen/ref/ternary_ref.h"
#include "ir/base/error.h"
#include "runtime/ops/op_step.h"
#include "runtime/ops/step_context.h"

namespace bitjit::ops {
namespace {

void RequireReference(const ir::Node& node, const PrepareContext& ctx) {
  if (ctx.compiled) {
    Fail("the JIT executor runs fused graphs (", ir::OpKindName(node.kind), " ", node.name,
         "): run the form-bitlinear pass first");
  }
}

class QuantizeActStep : public OpStep {
 public:
  explicit QuantizeActStep(const ir::Node& node) : OpStep(node, "ref") {}
  void Run(StepContext& ctx) const override {
    const ir::Value* x = node_.operands[0];
    const int64_t rows = ctx.Dim(x->shape[0]), k = x->shape[1];
    auto* codes = ctx.Data<int8_t>(node_.result(0));
    float* scales = ctx.Data(node_.result(1));
    for (int64_t r = 0; r < rows; ++r)
      scales[r] = ref::QuantizeRow(ctx.Data(x) + r * k, k, codes + r * k);
  }
};

class TernaryMatmulStep : public OpStep {
 public:
  explicit TernaryMatmulStep(const ir::Node& node) : OpStep(node, "ref") {}
  void Run(StepContext& ctx) const override {
    const ir::Value* w = node_.operands[2];
    const int64_t rows = ctx.Dim(node_.operands[0]->shape[0]), k = w->shape[1], n = w->shape[0];
    std::vector<int32_t> dot(static_cast<size_t>(rows * n));
    ref::TernaryMatmulI32(ctx.Data<uint8_t>(w), n, k, ctx.Data<int8_t>(node_.operands[0]), rows,
                          dot.data());
    ref::TernaryEpilogue(dot.data(), ctx.Data(node_.operands[1]), w->producer->constant.scale, rows,
                         n, ctx.Data(node_.result()));
  }
};

}  // namespace

std::unique_ptr<OpStep> PrepareQuantizeAct(const ir::Node& node, const PrepareContext& ctx) {
  RequireReference(node, ctx);
  return std::make_unique<QuantizeActStep>(node);
}

std::unique_ptr<OpStep> PrepareTernaryMatmul(const ir::Node& node, const PrepareContext& ctx) {
  RequireReference(node, ctx);
  return std::make_unique<TernaryMatmulStep>(node);
}

}  // namespace bitjit::ops
