// A forward pass as a list of bound steps (ops/op_step.h), one per graph node in order, and
// the executor that runs it. The reference schedule (no compiled model) is the interpreter;
// the JIT one runs the compiled model's kernels. `bitjit ir --plan` prints Describe().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/executor.h"
#include "runtime/ops/op_step.h"
#include "runtime/ops/step_context.h"
#include "runtime/thread_pool.h"

namespace bitjit {

struct CompiledModel;

class Schedule {
 public:
  // compiled == nullptr: every op's reference implementation. The graph (and compiled) must
  // outlive the schedule; compiled is kept alive by it.
  Schedule(const ir::Graph& graph, std::shared_ptr<const CompiledModel> compiled);
  ~Schedule();

  const ir::Graph& graph() const { return graph_; }
  bool jit() const { return compiled_ != nullptr; }
  // The forward pass top to bottom: each step's values, op, label and chosen kernels (weight
  // constants are bound, not run, and are left out).
  std::string Describe() const;

  // Where a step's results live: at an offset of the planned arena (bytes per batch token), or
  // (graphs without a memory plan) in a buffer of their own of bytes_per_token per token.
  struct Binding {
    int value_id;
    int64_t arena_offset, own_bytes_per_token;
  };
  struct Entry {
    std::unique_ptr<ops::OpStep> step;
    std::vector<Binding> results;
  };
  const std::vector<Entry>& entries() const { return entries_; }
  int n_values() const { return n_values_; }

 private:
  const ir::Graph& graph_;
  std::shared_ptr<const CompiledModel> compiled_;
  std::vector<Entry> entries_;
  int n_values_ = 0;
};

// Runs a schedule on its own threads and scratch (one per session; the schedule is shared).
class StepRunner : public Executor {
 public:
  StepRunner(std::shared_ptr<const Schedule> schedule, int n_threads, const char* name);
  void Forward(const StepInputs& in, KvCache& cache, float* logits) override;
  const char* name() const override { return name_; }

 private:
  std::shared_ptr<const Schedule> schedule_;
  const char* name_;
  ThreadPool pool_;
  ops::StepScratch scratch_;
  ops::AlignedBuffer arena_;
  std::vector<ops::AlignedBuffer> own_;  // per value id, for values outside the arena
  std::vector<void*> ptr_;
};

}  // namespace bitjit
