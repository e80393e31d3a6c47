#include "runtime/kernels/elementwise_avx2.h"

#include <immintrin.h>

#include "ir/base/half.h"

namespace bitjit::kernels {

__attribute__((target("avx2"))) void ReluSqrMulAvx2(float* gate, const float* up, int64_t n) {
  const __m256 zero = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    // max(x, 0) returns its second operand when x is NaN or both are zeros: NaN -> 0 and
    // -0 -> +0, exactly x > 0 ? x : 0.
    const __m256 g = _mm256_max_ps(_mm256_loadu_ps(gate + i), zero);
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(_mm256_mul_ps(g, g), _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) {
    const float g = gate[i] > 0.0f ? gate[i] : 0.0f;
    gate[i] = (g * g) * up[i];
  }
}

__attribute__((target("avx2,f16c"))) void FloatsToHalvesF16c(const float* x, int64_t n,
                                                             uint16_t* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = FloatToHalf(x[i]);
}

}  // namespace bitjit::kernels
