// The compiled path: the schedule of an optimized graph (fused bitlinears, planned arena) whose
// steps run the compiled model's JIT kernels for the CPU's ISA (compiled_model.h) on a pool of
// threads. Ops without a JIT kernel run portable or AVX2 code with the reference's roundings.
#pragma once

#include <memory>

#include "codegen/cpu_features.h"
#include "ir/graph.h"
#include "runtime/compiled_model.h"
#include "runtime/schedule.h"

namespace bitjit {

class JitExecutor : public StepRunner {
 public:
  // The schedule must be a JIT one of a memory-planned graph (bitjit::Error otherwise).
  JitExecutor(std::shared_ptr<const Schedule> schedule, int n_threads);
  // A schedule built for this executor alone (tests, benchmarks).
  JitExecutor(const ir::Graph& graph, std::shared_ptr<const CompiledModel> compiled, int n_threads);
};

}  // namespace bitjit
