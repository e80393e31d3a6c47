// BitLinear's float epilogue in portable C++, the exact float order of bitnet.cpp
// (../shared/spec/MODEL.md): y = ((float)sum_cq - (float)sum_q) / s * weight_scale, where
// sum_cq = dot + sum_q is what the c = w + 1 kernels accumulate. For |sum_cq| < 2^24 (K up to
// ~43000) this equals (float)dot / s * weight_scale; the two-conversion form is exact for all K.
#pragma once

#include <cstdint>

namespace bitjit::codegen {

inline float TernaryEpilogue(int32_t dot, int32_t q_sum, float q_scale, float weight_scale) {
  const float sum_cq = static_cast<float>(dot + q_sum);
  return (sum_cq - static_cast<float>(q_sum)) / q_scale * weight_scale;
}

// y[t * ld_y + r] = TernaryEpilogue(dot[t * ld_dot + r], ...) for r in [row_begin, row_end).
void TernaryEpilogueRows(const int32_t* dot, int64_t ld_dot, const int32_t* q_sum,
                         const float* q_scale, float weight_scale, int64_t n_tokens,
                         int64_t row_begin, int64_t row_end, float* y, int64_t ld_y);

}  // namespace bitjit::codegen
