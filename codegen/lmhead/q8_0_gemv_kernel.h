// GEMV over a Q8_0 table with a Q8_0-quantized input row: the lm_head of `--lm-head q8_0`,
//   logits[v] = sum_b dw[v][b] · dx[b] · (qw[v][b] . qx[b])   (blocks b of 32 values).
// It streams a 349 MB table per token on the 2B model, so it has to keep up with memory.
//
// Row layout ("scales first", q8_0_gemv.h): the ggml Q8_0 numbers of a row, stored as its
// block scales (f16) followed by its quants, both padded with zero blocks to a multiple of 8
// blocks. Per 8 blocks the kernel loads 8 scales with one vcvtph2ps and reduces 8 blocks' integer
// sums into one vector, instead of converting and broadcasting a scale per 32 values (which made
// a ggml-layout version compute-bound at about half the memory bandwidth).
//
// One row at a time (one sequential stream, which the hardware prefetcher follows best). Per
// block: sign(qw, qx)·|qx| with vpsignb + vpmaddubsw (|qx| <= 127 and qw != -128: no int16
// saturation), vpmaddwd with ones -> 8 int32 lanes; vphaddd / vperm2i128 turn 8 blocks' vectors
// into one vector of 8 exact block sums. Float order (fixed, reproduced by the kRef path): lane
// j of the accumulator does acc_j = fma((float)sum[8g + j], dw·dx, acc_j) over groups g in order,
// then the 8 lanes are added pairwise (j + j+4, then j + j+2, then j + j+1).
//
// The code is AVX2 (+FMA, F16C) ymm for every vector ISA: VNNI's vpdpbusd would save nothing
// here (each block needs its own integer sum) and the kernel is memory-bound.
#pragma once

#include <cstdint>
#include <string>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/row_dot_kernel.h"

namespace bitjit::codegen {

struct Q8_0GemvArgs {
  const uint8_t* table;  // rows in the scales-first layout
  const int8_t* x_q;     // padded blocks × 32 int8: the input's quants
  const uint8_t* x_abs;  // the same count of |x_q|
  const float* x_d;      // padded blocks floats: the input's block scales (f16 widened)
  float* out;            // out[v] for v in [row_begin, row_end)
  int64_t row_begin;
  int64_t row_end;
};

class Q8_0GemvKernel : public RowDotKernel {
 public:
  using Fn = void (*)(const Q8_0GemvArgs*);
  static constexpr int kBlock = 32;
  static constexpr int kGroup = 8;  // blocks reduced together; rows are padded to a multiple

  // n (baked in) must be a positive multiple of 32.
  explicit Q8_0GemvKernel(int64_t n);
  static std::string Name(int64_t n);
  Fn fn() const { return entry<Fn>(); }

 private:
  void generate() override;

  const int64_t n_;
};

}  // namespace bitjit::codegen
