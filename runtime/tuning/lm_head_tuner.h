// bitjit tune's search for the F16 lm_head GEMV: its software prefetch distance on this CPU.
// The lm_head table is the largest single stream of decode (657 MB of 2B-4T's 1179 MB a token),
// and whether prefetching ahead of it pays depends on the core and on the kernel's width
// (F16GemvKernel::DefaultPrefetchBytes), so `tune` measures it as it measures the ternary
// GEMV's. The model's own table is tiled once (every distance reads the same layout) and read
// whole per call, split over the pool as the executor splits one token's logits; it is far
// larger than the caches, so every call streams it from DRAM as decode does. Candidates run
// interleaved (interleaved_bench.h) and a distance replaces the default only when it is
// ClearlyFaster.
#pragma once

#include <cstdint>

#include "runtime/tuning/tile_tuner.h"

namespace bitjit::tuning {

// The table as the model holds it: vocab rows of n_embd halves.
struct F16LmHeadTable {
  const uint16_t* rows = nullptr;
  int64_t n_embd = 0, vocab = 0;
};

// Distances tried (bytes), besides the kernel's default.
inline constexpr int kF16LmHeadPrefetchOptions[] = {0, 1024, 2048, 4096, 8192, 16384};

// Measures the distances on options.isa with options.threads and options.budget_s (the other
// options do not apply). The entry (kernel kF16LmHeadKernel) sets gemv_prefetch_bytes only
// when the winner is not the default, and decode_gbps / default_decode_gbps to the table's
// bytes per second. One row, kind "lm_head". Throws bitjit::Error on a bad table or ISA.
ShapeTuning TuneF16LmHead(const F16LmHeadTable& table, const TuneOptions& options);

}  // namespace bitjit::tuning
