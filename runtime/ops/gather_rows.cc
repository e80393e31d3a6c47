// Gathers the rows whose logits are wanted (the last token of each sequence, or all of them).
#include <glog/logging.h>

#include <cstring>

#include "runtime/ops/op_step.h"
#include "runtime/ops/step_context.h"

namespace bitjit::ops {
namespace {

class GatherRowsStep : public OpStep {
 public:
  explicit GatherRowsStep(const ir::Node& node) : OpStep(node, "memcpy") {}
  void Run(StepContext& ctx) const override {
    const ir::Value* x = node_.operands[0];
    const int64_t width = x->shape[1];
    const int32_t* rows = ctx.Data<int32_t>(node_.operands[1]);
    float* out = ctx.Data(node_.result());
    for (int64_t r = 0; r < ctx.n_rows; ++r) {
      CHECK(rows[r] >= 0 && rows[r] < ctx.n_tokens);
      std::memcpy(out + r * width, ctx.Data(x) + rows[r] * width, width * sizeof(float));
    }
  }
};

}  // namespace

std::unique_ptr<OpStep> PrepareGatherRows(const ir::Node& node, const PrepareContext&) {
  return std::make_unique<GatherRowsStep>(node);
}

}  // namespace bitjit::ops
