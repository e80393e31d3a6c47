#include "runtime/kernels/lm_head_avx2.h"

#include <immintrin.h>

#include <cstring>

#include "ir/base/half.h"

namespace bitjit::kernels {

__attribute__((target("avx2,fma,f16c"))) void LmHeadF16RowsAvx2(
    const float* x, int64_t n, const uint16_t* table, int64_t v_begin, int64_t v_end,
    float* logits) {
  for (int64_t v = v_begin; v < v_end; ++v) {
    const uint16_t* w = table + v * n;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i)));
      const __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i + 8)));
      acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), w0, acc0);
      acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), w1, acc1);
    }
    const __m256 acc = _mm256_add_ps(acc0, acc1);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    float sum = _mm_cvtss_f32(s);
    for (; i < n; ++i) sum += x[i] * HalfToFloat(w[i]);
    logits[v] = sum;
  }
}

__attribute__((target("avx2,fma,f16c"))) void LmHeadQ8_0RowsAvx2(
    const uint8_t* x_q8, int64_t n, const uint8_t* table, int64_t v_begin, int64_t v_end,
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
