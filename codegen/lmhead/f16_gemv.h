// Front door of the F16 GEMV (f16_gemv_kernel.h): bitnet.cpp's one-row lm_head, whose input
// is rounded to F16 before the dot products (../shared/spec/MODEL.md).
#pragma once

#include <cstdint>
#include <memory>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/f16_gemv_kernel.h"

namespace bitjit::codegen {

class F16Gemv {
 public:
  // n: row length. Throws bitjit::Error if the CPU cannot run `isa` or n is not a multiple
  // of 16 (for kRef any n >= 1).
  F16Gemv(int64_t n, Isa isa);

  // out[v] = sum_i x'[i] * table[v * n + i] for v in [row_begin, row_end), with
  // x' = (float)(half)x when round_input, else x. Float accumulation in the kernel's order
  // (kRef: sequential, as ref::LmHeadF16). Rows may be split across threads.
  void Run(const uint16_t* table, const float* x, bool round_input, int64_t row_begin,
           int64_t row_end, float* out) const;

 private:
  int64_t n_;
  Isa isa_;
  std::shared_ptr<const F16GemvKernel> kernel_;  // null for kRef
};

}  // namespace bitjit::codegen
