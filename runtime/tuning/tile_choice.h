// Which tile a ternary matmul uses, and into how many row tasks per thread the executor splits
// it: the hook between the tuning cache (bitjit tune, tuning_cache.h) and the kernels the JIT
// executor compiles and runs.
#pragma once

#include <cstdint>

#include "codegen/cpu_features.h"
#include "codegen/ternary/ternary_matmul.h"
#include "runtime/tuning/tuning_cache.h"

namespace bitjit {

// The executor's row tasks per thread when nothing is tuned: enough to balance threads that
// are descheduled or finish early, few enough that each task streams a long run of weights.
inline constexpr int kDefaultTasksPerThread = 4;

// What the cache decides for one matmul; the defaults when it has no (usable) entry.
struct TernaryChoice {
  codegen::TernaryTile tile;                              // {} = the ISA's default
  int decode_tasks_per_thread = kDefaultTasksPerThread;   // one token
  int prefill_tasks_per_thread = kDefaultTasksPerThread;  // several
  bool tuned = false;                                     // an entry was found and used
};

// The decision for (cpu, isa, k, n) against an explicit cache: the entry's tile when the kernels
// accept it (else a warning and the defaults), its tasks per thread where in [1, 64].
TernaryChoice ChooseFromCache(const tuning::TuningCache& cache, const codegen::CpuIdentity& cpu,
                              codegen::Isa isa, int64_t k, int64_t n);

// The tile for a (k, n) ternary matmul on `isa`: the process tuning cache's winner for this CPU
// when it has one, else {} (the ISA's default). Thread-safe; each shape is decided once per
// loaded cache.
codegen::TernaryTile ChooseTernaryTile(int64_t k, int64_t n, codegen::Isa isa);

// Row tasks per thread for that matmul on n_tokens tokens (cheap: the executor asks on every
// call). Decode (one token) and prefill are tuned apart: a memory-bound GEMV of ~0.3 ms and a
// compute-bound GEMM of ~20 ms want different granularity.
int ChooseTasksPerThread(int64_t k, int64_t n, codegen::Isa isa, int64_t n_tokens);

}  // namespace bitjit
