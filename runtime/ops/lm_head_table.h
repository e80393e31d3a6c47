// The lm_head's table in the form its kernel reads, built once per model (compile time, or a
// plan's sidecar) and shared read-only by every executor: for --lm-head q8_0|q6_k the table
// re-quantized, built from the model's token_embd (F16 or Q8_0
// rows) in parallel into one 64-byte aligned buffer: q8_0 rows hold ggml's Q8_0 numbers in the
// kernel's scales-first layout (codegen/lmhead/q8_0_gemv.h), q6_k rows ggml's Q6_K blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/f16_gemv.h"
#include "codegen/lmhead/lm_head_type.h"
#include "codegen/lmhead/quantized_gemv.h"
#include "ir/dtype.h"
#include "ir/graph.h"

namespace bitjit {
class ThreadPool;
}

namespace bitjit::lm_head {

struct QuantizedTable {
  LmHeadType type = LmHeadType::kF16;
  int64_t n = 0, vocab = 0;  // row length (n_embd) and rows (n_vocab)
  size_t row_bytes = 0, bytes = 0;
  std::shared_ptr<uint8_t[]> data;  // weight memory (codegen/memory/weight_memory.h)

  const uint8_t* row(int64_t v) const { return data.get() + static_cast<size_t>(v) * row_bytes; }
};

// Bytes of one row of n values stored as `type` (q8_0 or q6_k).
size_t RowBytes(LmHeadType type, int64_t n);

// An uninitialized table (what a plan's sidecar is copied into). Throws bitjit::Error for f16,
// a row length `type` cannot hold, or when the memory cannot be had.
QuantizedTable AllocateTable(LmHeadType type, int64_t n, int64_t vocab);

// Quantizes `vocab` rows of n values stored as `source_type` (F16, Q8_0 or Q6_K) at `source`:
//   q8_0 from F16: ggml's quantize_row_q8_0_ref (d = amax/127, stored as f16, q = roundf(x / d)
//     with 1/d of the float d);
//   q8_0 from Q8_0: the blocks' numbers as they are (exact), refused if any quant is -128 (the
//     kernel's sign trick needs [-127, 127]; ggml's quantizers never write -128);
//   q6_k from Q6_K: the blocks as they are;
//   q6_k: QuantizeRowQ6_K of the row (dequantized first when Q8_0).
QuantizedTable QuantizeTable(LmHeadType type, ir::DType source_type, const uint8_t* source,
                             int64_t n, int64_t vocab, ThreadPool& pool);

// How many parts the lm_head splits a vocabulary into: enough to balance threads of `pool`
// that get descheduled (16 each), never more than the rows.
int64_t VocabChunks(int64_t vocab, const ThreadPool& pool);

// One row's logits out[0, tiles.vocab) through the F16 GEMV, as decode computes them: the
// vocabulary split on tile boundaries (no tile computed twice) into VocabChunks parts (at most
// one per tile). x: tiles.n floats, rounded as the caller wants them. `bitjit tune` measures this
// call.
void RunF16LogitsRow(const codegen::F16Gemv& gemv, const codegen::F16TiledTable& tiles,
                     const float* x, float* out, ThreadPool& pool);

// A quantized table and the GEMV that reads it (codegen/lmhead: Q8_0Gemv or Q6KGemv).
class QuantizedLmHead {
 public:
  // Generates the kernel for `isa` (kRef: the portable path with the same float order).
  QuantizedLmHead(QuantizedTable table, codegen::Isa isa);
  const QuantizedTable& table() const { return table_; }
  const codegen::QuantizedGemv& gemv() const { return *gemv_; }

 private:
  QuantizedTable table_;
  std::unique_ptr<const codegen::QuantizedGemv> gemv_;
};

// The table operand of `graph`'s lm_head node; throws bitjit::Error if the graph has none.
const ir::Value& LmHeadTable(const ir::Graph& graph);

// Quantizes `graph`'s lm_head table to `type` (q8_0 or q6_k) on `pool` and builds its kernel.
std::shared_ptr<const QuantizedLmHead> CompileLmHead(const ir::Graph& graph, LmHeadType type,
                                                     codegen::Isa isa, ThreadPool& pool);

}  // namespace bitjit::lm_head
