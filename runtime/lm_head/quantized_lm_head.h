// The `--lm-head q8_0|q6_k` lm_head of the compiled path: the quantized table (built once per
// model, shared read-only by every executor) and the GEMV kernel that reads it. Per logits row
// the input is quantized (Q8_0 / Q8_K) into the caller's scratch, then the vocabulary is split
// over the caller's thread pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/quantized_gemv.h"
#include "ir/graph.h"
#include "runtime/lm_head/quantized_table.h"

namespace bitjit {
class ThreadPool;
}

namespace bitjit::lm_head {

class QuantizedLmHead {
 public:
  // Generates the kernel for `isa` (kRef: the portable path with the same float order).
  QuantizedLmHead(QuantizedTable table, codegen::Isa isa);

  LmHeadType type() const { return table_.type; }
  const QuantizedTable& table() const { return table_; }
  // Scratch bytes Run needs (one prepared input row); 64-byte aligned scratch expected.
  size_t ScratchBytes() const;
  // logits[r][v] = x[r] . table[v] for r < rows (x: rows × n, logits: rows × vocab).
  void Run(const float* x, int64_t rows, float* logits, uint8_t* scratch, ThreadPool& pool) const;

 private:
  QuantizedTable table_;
  std::unique_ptr<const codegen::QuantizedGemv> gemv_;  // Q8_0Gemv or Q6KGemv
};

// The table operand of `graph`'s lm_head node; throws bitjit::Error if the graph has none.
const ir::Value& LmHeadTable(const ir::Graph& graph);

// Quantizes `graph`'s lm_head table to `type` (q8_0 or q6_k) on `pool` and builds its kernel.
std::shared_ptr<const QuantizedLmHead> CompileLmHead(const ir::Graph& graph, LmHeadType type,
                                                     codegen::Isa isa, ThreadPool& pool);

}  // namespace bitjit::lm_head
