#include "codegen/simd/elementwise_avx2.h"

#include <immintrin.h>

#include <cmath>

#include "codegen/ref/ref_kernels.h"
#include "codegen/simd/ggml_expf_avx2.h"
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

__attribute__((target("avx2,fma"))) void RopeNeoxRotateAvx2(float* x, int n_head, int head_dim,
                                                            const float* cos_t,
                                                            const float* sin_t) {
  const int half = head_dim / 2;
  for (int h = 0; h < n_head; ++h) {
    float* v = x + int64_t{h} * head_dim;
    int i = 0;
    for (; i + 8 <= half; i += 8) {
      const __m256 x0 = _mm256_loadu_ps(v + i), x1 = _mm256_loadu_ps(v + i + half);
      const __m256 c = _mm256_loadu_ps(cos_t + i), s = _mm256_loadu_ps(sin_t + i);
      _mm256_storeu_ps(v + i, _mm256_fmsub_ps(x0, c, _mm256_mul_ps(x1, s)));
      _mm256_storeu_ps(v + i + half, _mm256_fmadd_ps(x0, s, _mm256_mul_ps(x1, c)));
    }
    for (; i < half; ++i) {  // head_dim % 16 (e.g. 100 and 96 have 2 and 0 pairs of 8 left)
      const __m128 x0 = _mm_set_ss(v[i]), x1 = _mm_set_ss(v[i + half]);
      const __m128 c = _mm_set_ss(cos_t[i]), s = _mm_set_ss(sin_t[i]);
      v[i] = _mm_cvtss_f32(_mm_fmsub_ss(x0, c, _mm_mul_ss(x1, s)));
      v[i + half] = _mm_cvtss_f32(_mm_fmadd_ss(x0, s, _mm_mul_ss(x1, c)));
    }
  }
}

__attribute__((target("avx2,fma"))) void SiluMulAvx2(const float* gate, const float* up, int64_t n,
                                                     float* out) {
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(gate + i);
    __m256 s = _mm256_div_ps(x, _mm256_add_ps(one, GgmlExpf(_mm256_sub_ps(zero, x))));
    if (up) s = _mm256_mul_ps(s, _mm256_loadu_ps(up + i));
    _mm256_storeu_ps(out + i, s);
  }
  for (; i < n; ++i) out[i] = up ? ref::Silu(gate[i]) * up[i] : ref::Silu(gate[i]);
}

__attribute__((target("avx2,fma"))) void RopeNormRotateAvx2(float* x, int n_head, int head_dim,
                                                            const float* cos_t,
                                                            const float* sin_t) {
  for (int h = 0; h < n_head; ++h) {
    float* v = x + int64_t{h} * head_dim;
    for (int i = 0; i < head_dim / 2; ++i) {
      const __m128 x0 = _mm_set_ss(v[2 * i]), x1 = _mm_set_ss(v[2 * i + 1]);
      const __m128 c = _mm_set_ss(cos_t[i]), s = _mm_set_ss(sin_t[i]);
      v[2 * i] = _mm_cvtss_f32(_mm_fmsub_ss(x0, c, _mm_mul_ss(x1, s)));
      v[2 * i + 1] = _mm_cvtss_f32(_mm_fmadd_ss(x0, s, _mm_mul_ss(x1, c)));
    }
  }
}

}  // namespace bitjit::kernels
