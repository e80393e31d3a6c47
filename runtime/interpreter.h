// The reference backend: executes an IR graph node by node with the portable kernels of
// codegen/ref. Slow and simple on purpose; every optimized path is tested against it.
#pragma once

#include "ir/graph.h"
#include "runtime/executor.h"

namespace bitjit {

class Interpreter : public Executor {
 public:
  explicit Interpreter(const ir::Graph& graph) : graph_(graph) {}
  void Forward(const StepInputs& in, KvCache& cache, float* logits) override;
  const char* name() const override { return "interpreter"; }

 private:
  const ir::Graph& graph_;
};

}  // namespace bitjit
