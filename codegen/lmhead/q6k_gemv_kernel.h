// GEMV over a Q6_K table (ggml's 210-byte blocks, q6k_format.h) with a Q8_K-quantized input
// row: the lm_head of `--lm-head q6_k`. Per block of 256 values it computes the exact integer
//   sum_j scale_j · sum_{i in group j} (q_i - 32) · x_i
// (at most 128·63·127·256 < 2^31) and adds it, times d·d_x, into a float accumulator. It
// streams 269 MB per token on the 2B model, so it only has to keep up with memory.
//
// One row at a time (one sequential stream), block by block. Each half block (128 values)
// loads ql (2 × 32 bytes) and qh (32 bytes) and rebuilds four vectors of 32 six-bit quants with
// shifts and masks (AVX-512VL: a vpternlogd bit-select merges nibble and high bits, 11 instead
// of 17 instructions); vpmaddubsw with the input's int8 quants (q <= 63, so no int16
// saturation), then vpmaddwd with the two groups' scales as int16 (one vpshufb each, from the
// block's scales widened once) gives 8 exact int32 lanes (lane l: bytes 4l..4l+3 of each
// vector). The -32 offset is applied once per block from the input's group sums: lane l gets
// -32·(scale_2l·bsum_2l + scale_2l+1·bsum_2l+1).
// Float order (fixed, reproduced by the kRef path): acc_l = fma((float)int_l, d·d_x, acc_l)
// over the blocks in order, then the 8 lanes are added pairwise (l + l+4, l + l+2, l + l+1).
//
// The code is AVX2 (+FMA, F16C) ymm for every vector ISA, with vpternlogd where AVX-512VL has it:
// the kernel is about memory-bound, and VNNI's vpdpwssd would only fuse the madd/add pairs (and
// lengthen the accumulator's dependency chain).
#pragma once

#include <cstdint>
#include <string>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/row_dot_kernel.h"

namespace bitjit::codegen {

struct Q6KGemvArgs {
  const uint8_t* table;  // rows of n/256 Q6_K blocks
  const uint8_t* x;      // n/256 Q8_K blocks
  float* out;            // out[v] for v in [row_begin, row_end)
  int64_t row_begin;
  int64_t row_end;
};

class Q6KGemvKernel : public RowDotKernel {
 public:
  using Fn = void (*)(const Q6KGemvArgs*);

  // n (baked in) must be a positive multiple of 256. ternlog: use AVX-512VL's vpternlogd.
  Q6KGemvKernel(int64_t n, bool ternlog);
  static std::string Name(int64_t n, bool ternlog);
  Fn fn() const { return entry<Fn>(); }

 private:
  void generate() override;
  void EmitBlock(const Xbyak::Label& shuffles);

  const int64_t n_;
  const bool ternlog_;
};

}  // namespace bitjit::codegen
