#include "runtime/kernels/elementwise_avx2.h"

#include <immintrin.h>

#include <cmath>

#include "codegen/ref/ref_kernels.h"
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

namespace {

// 2^e for integral e in [-126, 127].
__attribute__((target("avx2"))) inline __m256 Pow2(__m256 e) {
  return _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(e), _mm256_set1_epi32(127)), 23));
}

// ggml_v_expf (AVX-512) for any x: its polynomial, and vscalefps's j * 2^n with one rounding
// as (j * 2^n1) * 2^n2, n = n1 + n2 with both halves in [-96, 96] (the first product is
// exact); |n| > 192 gives 0 or inf as ggml's blend does.
__attribute__((target("avx2,fma"))) inline __m256 GgmlExpf(__m256 x) {
  const __m256 r = _mm256_set1_ps(0x1.8p23f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
  const __m256 n = _mm256_sub_ps(z, r);
  const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                    _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  const __m256 u = _mm256_mul_ps(b, b);
  const __m256 j = _mm256_fmadd_ps(
      _mm256_fmadd_ps(
          _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
          _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
      u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f)));
  const __m256 big = _mm256_set1_ps(192.0f);
  const __m256 nc = _mm256_min_ps(_mm256_max_ps(n, _mm256_sub_ps(_mm256_setzero_ps(), big)), big);
  const __m256 n1 = _mm256_floor_ps(_mm256_mul_ps(nc, _mm256_set1_ps(0.5f)));
  const __m256 n2 = _mm256_sub_ps(nc, n1);
  const __m256 res = _mm256_mul_ps(_mm256_mul_ps(j, Pow2(n1)), Pow2(n2));
  const __m256 abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
  const __m256 out_of_range = _mm256_cmp_ps(abs_n, big, _CMP_GT_OQ);
  const __m256 alt = _mm256_blendv_ps(_mm256_set1_ps(INFINITY), _mm256_setzero_ps(),
                                      _mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ));
  return _mm256_blendv_ps(res, alt, out_of_range);
}

}  // namespace

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
