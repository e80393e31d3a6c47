// The graph's edges: step inputs (token ids, positions, output rows), weight constants, and
// the output (the logits the caller asked for). Shared by both paths: nothing to choose.
#include <cstring>

#include "ir/base/error.h"
#include "runtime/ops/op_step.h"
#include "runtime/ops/step_context.h"

namespace bitjit::ops {
namespace {

class InputStep : public OpStep {
 public:
  InputStep(const ir::Node& node, std::span<const int32_t> StepInputs::*field)
      : OpStep(node, "-"), field_(field) {}
  void Run(StepContext& ctx) const override {
    ctx.ptr[node_.result()->id] = const_cast<int32_t*>((ctx.in.*field_).data());
  }

 private:
  std::span<const int32_t> StepInputs::*field_;
};

class ConstantStep : public OpStep {
 public:
  explicit ConstantStep(const ir::Node& node) : OpStep(node, "-") {}
  void Run(StepContext& ctx) const override {
    ctx.ptr[node_.result()->id] = const_cast<uint8_t*>(node_.constant.data);
  }
};

class OutputStep : public OpStep {
 public:
  explicit OutputStep(const ir::Node& node) : OpStep(node, "memcpy") {}
  void Run(StepContext& ctx) const override {
    const ir::Value* x = node_.operands[0];
    std::memcpy(ctx.logits, ctx.Data(x), ctx.Count(x) * sizeof(float));
  }
};

}  // namespace

std::unique_ptr<OpStep> PrepareInput(const ir::Node& node, const PrepareContext&) {
  if (node.name == "tokens") return std::make_unique<InputStep>(node, &StepInputs::tokens);
  if (node.name == "positions") return std::make_unique<InputStep>(node, &StepInputs::positions);
  if (node.name == "output_rows")
    return std::make_unique<InputStep>(node, &StepInputs::output_rows);
  Fail("graph input '", node.name, "': expected tokens, positions or output_rows");
}

std::unique_ptr<OpStep> PrepareConstant(const ir::Node& node, const PrepareContext&) {
  return std::make_unique<ConstantStep>(node);
}

std::unique_ptr<OpStep> PrepareOutput(const ir::Node& node, const PrepareContext&) {
  return std::make_unique<OutputStep>(node);
}

}  // namespace bitjit::ops
