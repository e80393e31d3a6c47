#include "codegen/simd/lm_head_avx2.h"

#include <immintrin.h>

#include <cstring>

#include "ir/base/half.h"

namespace bitjit::kernels {

__attribute__((target("avx2,fma,f16c"))) void LmHeadQ8_0RowsAvx2(const uint8_t* x_q8, int64_t n,
                                                                 const uint8_t* table,
                                                                 int64_t v_begin, int64_t v_end,
                                                                 float* logits) {
  constexpr int kBlockBytes = 34;
  const int64_t nb = n / 32;
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t v = v_begin; v < v_end; ++v) {
    const uint8_t* w = table + v * nb * kBlockBytes;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* xb = x_q8 + b * kBlockBytes;
      const uint8_t* wb = w + b * kBlockBytes;
      uint16_t dx, dw;
      std::memcpy(&dx, xb, 2);
      std::memcpy(&dw, wb, 2);
      const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 2));
      const __m256i qw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 2));
      // |qx| * sign(qw applied) via maddubs: unsigned |a| times b with a's sign moved to b.
      const __m256i ax = _mm256_sign_epi8(qx, qx);
      const __m256i sw = _mm256_sign_epi8(qw, qx);
      const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sw), ones);
      const float d = HalfToFloat(dx) * HalfToFloat(dw);
      acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(dot), acc);
    }
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    logits[v] = _mm_cvtss_f32(s);
  }
}

}  // namespace bitjit::kernels
