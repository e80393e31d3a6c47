#include "runtime/lm_head/quantized_table.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "codegen/lmhead/q6k_format.h"
#include "codegen/lmhead/q8_0_gemv.h"
#include "codegen/memory/weight_memory.h"
#include "codegen/ref/ref_kernels.h"
#include "ir/base/error.h"
#include "ir/base/half.h"
#include "runtime/lm_head/q6k_quantize.h"
#include "runtime/thread_pool.h"

namespace bitjit::lm_head {
namespace {

constexpr int kQ8Block = 32, kQ8BlockBytes = 34;

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

// ggml's quantize_row_q8_0_ref, the table quantizer: q = roundf(x * (1/d)). Not
// ref::QuantizeRowQ8_0, which is the activation path's (x * 127/amax, half to even): the two
// round differently in the last bit, and each mirrors its own ggml function.
void QuantizeRowQ8_0Table(const float* x, int64_t n, uint8_t* blocks) {
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const float* xb = x + b * kQ8Block;
    uint8_t* blk = blocks + b * kQ8BlockBytes;
    float amax = 0.0f;
    for (int i = 0; i < kQ8Block; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = FloatToHalf(d);
    std::memcpy(blk, &dh, 2);
    auto* qs = reinterpret_cast<int8_t*>(blk + 2);
    for (int i = 0; i < kQ8Block; ++i) qs[i] = static_cast<int8_t>(std::round(xb[i] * id));
  }
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

}  // namespace bitjit::lm_head
