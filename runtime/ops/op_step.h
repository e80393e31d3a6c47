// Ops as bound steps. Each op kind has one file here; its Prepare function looks at the node
// once, picks the implementation — the reference (codegen/ref, what the interpreter runs) or
// the JIT path's kernels for the compiled ISA — and returns a step bound to that choice, to the
// kernels and to the packed weights. A forward pass is then a loop over steps (schedule.h).
#pragma once

#include <memory>
#include <string>

#include "ir/graph.h"

namespace bitjit {
struct CompiledModel;
}

namespace bitjit::ops {

struct StepContext;

class OpStep {
 public:
  // `kernel` names the implementation, as `bitjit ir --plan` prints it ("ref", or the
  // generated kernels' names).
  OpStep(const ir::Node& node, std::string kernel) : node_(node), kernel_(std::move(kernel)) {}
  virtual ~OpStep() = default;
  OpStep(const OpStep&) = delete;
  OpStep& operator=(const OpStep&) = delete;

  // Runs the op on this step's batch. Const: one step serves every executor of a model.
  virtual void Run(StepContext& ctx) const = 0;

  const ir::Node& node() const { return node_; }
  const std::string& kernel() const { return kernel_; }

 protected:
  const ir::Node& node_;

 private:
  std::string kernel_;
};

// What an op chooses its implementation from. compiled == nullptr: the reference
// implementation of every op (the interpreter). Else the JIT path: the kernels and packed
// weights compiled for the model (compiled_model.h), which outlive the steps.
struct PrepareContext {
  const CompiledModel* compiled = nullptr;
};

// The one dispatch on OpKind (op_registry.cc, from ir/op_kinds.h).
std::unique_ptr<OpStep> PrepareStep(const ir::Node& node, const PrepareContext& ctx);

// One per op kind, each defined in the op's file.
#define BITJIT_DECLARE_PREPARE(kind, name, prepare) \
  std::unique_ptr<OpStep> Prepare##prepare(const ir::Node& node, const PrepareContext& ctx);
BITJIT_OP_KINDS(BITJIT_DECLARE_PREPARE)
#undef BITJIT_DECLARE_PREPARE

}  // namespace bitjit::ops
