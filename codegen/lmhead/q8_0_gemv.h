// Front door of the Q8_0 GEMV (q8_0_gemv_kernel.h): the `--lm-head q8_0` lm_head. The input row
// is quantized to Q8_0 per row, as bitnet.cpp quantizes the lm_head input for a Q8_0 table
// (ref::QuantizeRowQ8_0), then dotted with every table row in integers per 32-value block.
//
// Table rows use the "scales first" layout: ggml's Q8_0 numbers (per block of 32: an f16 scale
// d and 32 int8 quants, value = d·q) with a row's scales stored together, then its quants, each
// padded with zero blocks to a multiple of 8 blocks (no padding when n % 256 == 0, so a row is
// as large as in ggml's layout). PackRow converts ggml's interleaved blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/q8_0_gemv_kernel.h"
#include "codegen/lmhead/quantized_gemv.h"

namespace bitjit::codegen {

class Q8_0Gemv : public QuantizedGemv {
 public:
  // n: row length, a positive multiple of 32. Throws bitjit::Error if the CPU cannot run `isa`.
  Q8_0Gemv(int64_t n, Isa isa);

  // Blocks per row including the padding, and the bytes of one row in the scales-first layout.
  static int64_t PaddedBlocks(int64_t n);
  static size_t RowBytes(int64_t n);
  // ggml Q8_0 blocks of one row (n / 32 × 34 bytes) -> the scales-first layout (RowBytes(n)).
  static void PackRow(const uint8_t* ggml_blocks, int64_t n, uint8_t* row);

  int64_t n() const override { return n_; }
  std::string KernelName() const override { return kernel_ ? kernel_->name() : "ref"; }
  // Bytes of a prepared input row (PrepareInput's output; keep it 64-byte aligned).
  size_t InputBytes() const override;
  // Quantizes x (n floats) to Q8_0 and lays it out for Run.
  void PrepareInput(const float* x, uint8_t* input) const override;
  // out[v] = x . table[v] for v in [row_begin, row_end), table rows in the scales-first layout
  // with quants in [-127, 127] (ggml's quantizers never write -128; the sign trick needs it).
  // The float order is the kernel's (q8_0_gemv_kernel.h) on every Isa, kRef included, so all
  // Isas agree bit for bit. Rows may be split across threads.
  void Run(const uint8_t* table, const uint8_t* input, int64_t row_begin, int64_t row_end,
           float* out) const override;

 private:
  int64_t n_;
  Isa isa_;
  std::shared_ptr<const Q8_0GemvKernel> kernel_;  // null for kRef
};

}  // namespace bitjit::codegen
