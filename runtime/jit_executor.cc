#include "runtime/jit_executor.h"

#include "ir/base/error.h"

namespace bitjit {

namespace {
std::shared_ptr<const Schedule> CheckedJitSchedule(std::shared_ptr<const Schedule> schedule) {
  if (!schedule->jit()) Fail("the JIT executor needs a schedule of compiled kernels");
  if (schedule->graph().arena_bytes_per_token() <= 0)
    Fail("the JIT executor needs a memory-planned graph");
  return schedule;
}
}  // namespace

JitExecutor::JitExecutor(std::shared_ptr<const Schedule> schedule, int n_threads)
    : StepRunner(CheckedJitSchedule(std::move(schedule)), n_threads, "jit") {}

JitExecutor::JitExecutor(const ir::Graph& graph, std::shared_ptr<const CompiledModel> compiled,
                         int n_threads)
    : JitExecutor(std::make_shared<const Schedule>(graph, std::move(compiled)), n_threads) {}

}  // namespace bitjit
