// ggml's expf (ggml_v_expf, as bitnet.cpp's AVX-512 build has it) on AVX2 + FMA, lane for lane:
// shared by the softmax of the attention kernel and the SiLU of llama's FFN.
#pragma once

#include <immintrin.h>

#include <cmath>

namespace bitjit::kernels {

// 2^e for integral e in [-126, 127].
__attribute__((target("avx2"))) inline __m256 GgmlPow2(__m256 e) {
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
  const __m256 res = _mm256_mul_ps(_mm256_mul_ps(j, GgmlPow2(n1)), GgmlPow2(n2));
  const __m256 abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
  const __m256 out_of_range = _mm256_cmp_ps(abs_n, big, _CMP_GT_OQ);
  const __m256 alt = _mm256_blendv_ps(_mm256_set1_ps(INFINITY), _mm256_setzero_ps(),
                                      _mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ));
  return _mm256_blendv_ps(res, alt, out_of_range);
}

}  // namespace bitjit::kernels
