// Which tile a ternary matmul uses, and into how many row tasks per thread the executor splits
// it: the hook between the tuning cache (bitjit tune, tuning_cache.h) and the kernels the JIT
// executor compiles and runs.
#pragma once

#include <cstdint>
#include <optional>

#include "codegen/cpu_features.h"
#include "codegen/ternary/ternary_matmul.h"
#include "ir/graph.h"
#include "runtime/tuning/tuning_cache.h"

namespace bitjit {

// The executor's row tasks per thread when nothing is tuned: enough to balance threads that
// are descheduled or finish early, few enough that each task streams a long run of weights.
inline constexpr int kDefaultTasksPerThread = 4;

// The weight packing when nothing is tuned or asked for: 1.6 bits wherever the CPU has its
// kernels (avx512vnni with AVX512_VBMI), else 2 bits. Decode streams every weight once per
// token, and on Zen 4 the 1.6-bit GEMV unpacks ~147 G weights/s per core from L2 (2 bits: 176),
// which one core's ~29 GB/s of DRAM cannot feed at 2 bits (~116 G weights/s): so 1.6 bits is
// as fast at one thread and faster once threads share the memory bus; the GEMM runs at the
// vpdpbusd rate either way (ternary_gemv_bench: 440 vs 450 GOPS). `bitjit tune` measures both.
// avx2 has 1.6-bit kernels too, but without vpermb its unpack costs 21 vector ops per 32 bytes
// (2 bits: a shift and masks), so there 2 bits stay the default (README, "Speed").
codegen::TernaryPacking DefaultTernaryPacking(codegen::Isa isa);

// codegen::DefaultTernaryTile(isa) with DefaultTernaryPacking(isa): what runs untuned.
codegen::TernaryTile DefaultTile(codegen::Isa isa);

// The IR's record of a layout (ir::WeightTile) and the kernels' (codegen::TernaryTile).
codegen::TernaryTile ToTernaryTile(const ir::WeightTile& tile);
ir::WeightTile ToWeightTile(const codegen::TernaryTile& tile);

// What the cache decides for one matmul; the defaults when it has no (usable) entry.
struct TernaryChoice {
  codegen::TernaryTile tile;                              // rows, tokens 0 = the ISA's default
  int decode_tasks_per_thread = kDefaultTasksPerThread;   // one token
  int prefill_tasks_per_thread = kDefaultTasksPerThread;  // several
  std::optional<int> gemv_prefetch_bytes;                 // unset: the kernels' default
  bool tuned = false;                                     // an entry was found and used
};

// The decision for (cpu, isa, k, n) against an explicit cache: the entry's tile, packing
// (entries from before 1.6-bit packing: 2 bits) and GEMV prefetch distance when the kernels
// accept them (else a warning and the defaults), its tasks per thread where in [1, 64].
// Without an entry: DefaultTile.
TernaryChoice ChooseFromCache(const tuning::TuningCache& cache, const codegen::CpuIdentity& cpu,
                              codegen::Isa isa, int64_t k, int64_t n);

// The tile for a (k, n) ternary matmul on `isa`: the process tuning cache's winner for this CPU
// when it has one, else DefaultTile(isa) (rows and tokens 0: the ISA's default). Thread-safe;
// each shape is decided once per loaded cache. `packing` (--ternary-packing) overrides the
// packing; the tuned rows and tokens stay where the kernels accept them with it.
codegen::TernaryTile ChooseTernaryTile(int64_t k, int64_t n, codegen::Isa isa,
                                       std::optional<codegen::TernaryPacking> packing = {});

// The tile a (k, n) matmul compiles with, decided here once for every caller (the
// weight-layout pass through Model::TargetContext, CompileModel for graphs that skipped it):
// ChooseTernaryTile with the ISA's default rows and tokens filled in.
codegen::TernaryTile DecideTernaryTile(int64_t k, int64_t n, codegen::Isa isa,
                                       std::optional<codegen::TernaryPacking> packing = {});

// The decode GEMV's prefetch distance for that matmul on this CPU with `tile`: the tuning
// cache's when it measured one for the shape with that layout (rows and packing), else unset
// (the kernels' default; a distance tuned for 2 bits is no guide to 1.6, see
// DefaultGemvPrefetchBytes). Cheap after the first call.
std::optional<int> ChooseGemvPrefetch(int64_t k, int64_t n, codegen::Isa isa,
                                      const codegen::TernaryTile& tile);

// The F16 lm_head GEMV's prefetch distance for an n_embd x vocab table on `isa`: the tuning
// cache's for this CPU (`bitjit tune`, lm_head_tuner.h), else unset (the kernel's default,
// F16GemvKernel::DefaultPrefetchBytes). An entry the kernel refuses is a warning and unset.
std::optional<int> ChooseF16LmHeadPrefetch(int64_t n_embd, int64_t vocab, codegen::Isa isa);

// Row tasks per thread for that matmul on n_tokens tokens (cheap: the executor asks on every
// call). Decode (one token) and prefill are tuned apart: a memory-bound GEMV of ~0.3 ms and a
// compute-bound GEMM of ~20 ms want different granularity.
int ChooseTasksPerThread(int64_t k, int64_t n, codegen::Isa isa, int64_t n_tokens);

}  // namespace bitjit
