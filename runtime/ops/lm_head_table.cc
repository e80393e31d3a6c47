#include "runtime/ops/lm_head_table.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "codegen/lmhead/q6k_format.h"
#include "codegen/lmhead/q6k_gemv.h"
#include "codegen/lmhead/q8_0_gemv.h"
#include "codegen/lmhead/table_quantize.h"
#include "codegen/memory/weight_memory.h"
#include "codegen/ref/ref_kernels.h"
#include "ir/base/error.h"
#include "ir/base/half.h"
#include "runtime/thread_pool.h"

namespace bitjit::lm_head {
namespace {

constexpr int kQ8Block = 32, kQ8BlockBytes = 34;  // ggml's Q8_0 blocks

void SourceRowToFloat(ir::DType type, const uint8_t* table, int64_t n, int64_t v, float* out) {
  if (type == ir::DType::kF16) {
    ref::EmbeddingRowF16(reinterpret_cast<const uint16_t*>(table), n, v, out);
  } else if (type == ir::DType::kQ6_K) {
    ref::EmbeddingRowQ6_K(table, n, v, out);
  } else {
    ref::EmbeddingRowQ8_0(table, n, v, out);
  }
}

}  // namespace

size_t RowBytes(LmHeadType type, int64_t n) {
  switch (type) {
    case LmHeadType::kQ8_0:
      return codegen::Q8_0Gemv::RowBytes(n);
    case LmHeadType::kQ6_K:
      return static_cast<size_t>(n / codegen::q6k::kBlock * codegen::q6k::kBlockBytes);
    case LmHeadType::kF16:
      break;
  }
  return static_cast<size_t>(2 * n);
}

QuantizedTable AllocateTable(LmHeadType type, int64_t n, int64_t vocab) {
  if (type == LmHeadType::kF16) Fail("an f16 lm_head has no quantized table");
  CheckRowLength(type, n);
  if (vocab <= 0) Fail("lm_head table with ", vocab, " rows");
  QuantizedTable t;
  t.type = type;
  t.n = n;
  t.vocab = vocab;
  t.row_bytes = RowBytes(type, n);
  t.bytes = t.row_bytes * static_cast<size_t>(vocab);
  // No kernel reads past the last row; 64 bytes of zeroed slack keep wider loads safe too.
  t.data = codegen::AllocateWeightMemory(t.bytes + 64);
  return t;
}

QuantizedTable QuantizeTable(LmHeadType type, ir::DType source_type, const uint8_t* source,
                             int64_t n, int64_t vocab, ThreadPool& pool) {
  if (source_type != ir::DType::kF16 && source_type != ir::DType::kQ8_0 &&
      source_type != ir::DType::kQ6_K) {
    Fail("--lm-head ", LmHeadTypeName(type), ": token_embd is ", ir::DTypeName(source_type),
         ", not F16, Q8_0 or Q6_K");
  }
  QuantizedTable t = AllocateTable(type, n, vocab);
  if (type == LmHeadType::kQ6_K && source_type == ir::DType::kQ6_K) {
    std::memcpy(t.data.get(), source, t.bytes);  // ggml's blocks, which the kernel reads as is
    return t;
  }
  const bool copy = type == LmHeadType::kQ8_0 && source_type == ir::DType::kQ8_0;
  constexpr int64_t kRowsPerTask = 256;
  std::atomic<bool> has_minus_128{false};
  pool.ParallelFor((vocab + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task, int) {
    std::vector<float> row(static_cast<size_t>(n));
    std::vector<uint8_t> blocks(static_cast<size_t>(n / kQ8Block * kQ8BlockBytes));
    const int64_t v1 = std::min(vocab, (task + 1) * kRowsPerTask);
    for (int64_t v = task * kRowsPerTask; v < v1; ++v) {
      uint8_t* out = t.data.get() + static_cast<size_t>(v) * t.row_bytes;
      if (type == LmHeadType::kQ6_K) {
        SourceRowToFloat(source_type, source, n, v, row.data());
        QuantizeRowQ6_K(row.data(), n, out);
        continue;
      }
      if (copy) {
        std::memcpy(blocks.data(), source + static_cast<size_t>(v) * blocks.size(), blocks.size());
        for (size_t b = 0; b < blocks.size(); b += kQ8BlockBytes)
          for (int i = 0; i < kQ8Block; ++i)
            if (static_cast<int8_t>(blocks[b + 2 + i]) == -128) has_minus_128 = true;
      } else {
        SourceRowToFloat(source_type, source, n, v, row.data());
        QuantizeRowQ8_0Table(row.data(), n, blocks.data());
      }
      codegen::Q8_0Gemv::PackRow(blocks.data(), n, out);
    }
  });
  if (has_minus_128) {
    Fail(
        "--lm-head q8_0: token_embd holds the quant -128, which the Q8_0 kernel cannot take; "
        "use --lm-head f16");
  }
  return t;
}

QuantizedLmHead::QuantizedLmHead(QuantizedTable table, codegen::Isa isa)
    : table_(std::move(table)) {
  CheckRowLength(table_.type, table_.n);
  if (table_.type == LmHeadType::kQ8_0) {
    gemv_ = std::make_unique<codegen::Q8_0Gemv>(table_.n, isa);
  } else if (table_.type == LmHeadType::kQ6_K) {
    gemv_ = std::make_unique<codegen::Q6KGemv>(table_.n, isa);
  } else {
    Fail("an f16 lm_head has no quantized table");
  }
}

const ir::Value& LmHeadTable(const ir::Graph& graph) {
  for (const auto& n : graph.nodes())
    if (n->kind == ir::OpKind::kLmHead) return *n->operands[1];
  Fail("the graph has no lm_head");
}

std::shared_ptr<const QuantizedLmHead> CompileLmHead(const ir::Graph& graph, LmHeadType type,
                                                     codegen::Isa isa, ThreadPool& pool) {
  const ir::Value& table = LmHeadTable(graph);
  if (table.producer == nullptr || table.producer->kind != ir::OpKind::kConstant)
    Fail("--lm-head ", LmHeadTypeName(type), ": the lm_head table is not a model tensor");
  const int64_t vocab = table.shape[0], n = table.shape[1];
  CheckRowLength(type, n);
  QuantizedTable t =
      QuantizeTable(type, table.dtype, table.producer->constant.data, n, vocab, pool);
  return std::make_shared<const QuantizedLmHead>(std::move(t), isa);
}

int64_t VocabChunks(int64_t vocab, const ThreadPool& pool) {
  return std::min<int64_t>(vocab, 16 * int64_t{pool.n_threads()});
}

void RunF16LogitsRow(const codegen::F16Gemv& gemv, const codegen::F16TiledTable& tiles,
                     const float* x, float* out, ThreadPool& pool) {
  const int64_t rows = gemv.tile_rows();
  const int64_t parts = std::min(VocabChunks(tiles.vocab, pool), tiles.n_tiles);
  pool.ParallelFor(parts, [&](int64_t c, int) {
    const int64_t v0 = tiles.n_tiles * c / parts * rows;
    const int64_t v1 = tiles.n_tiles * (c + 1) / parts * rows;
    gemv.Run(tiles, x, /*round_input=*/false, v0, std::min(v1, tiles.vocab), out);
  });
}

}  // namespace bitjit::lm_head
