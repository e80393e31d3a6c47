#include "codegen/simd/rms_norm_avx2.h"

#include <immintrin.h>

#include "codegen/ref/ref_kernels.h"

namespace bitjit::kernels {
namespace {

#define BITJIT_AVX2 __attribute__((target("avx2")))

// y = x * scale, then * weight: the reference's two roundings, 8 lanes at a time.
BITJIT_AVX2 void ScaleRow(const float* x, int64_t n, double sum, float eps, const float* weight,
                          float* y) {
  const float scale = ref::RmsNormScale(sum, n, eps);
  const __m256 vscale = _mm256_set1_ps(scale);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vscale);
    if (weight) v = _mm256_mul_ps(v, _mm256_loadu_ps(weight + i));
    _mm256_storeu_ps(y + i, v);
  }
  for (; i < n; ++i) y[i] = weight ? (x[i] * scale) * weight[i] : x[i] * scale;
}

// Sums of squares of 4 * kGroups rows, each lane of group g's vector in its row's order. The
// groups' chains of dependent adds are independent, so kGroups of them run side by side.
template <int kGroups>
BITJIT_AVX2 void SumSquaresRows(const float* x, int64_t n, double* sums) {
  __m256d acc[kGroups];
  for (auto& a : acc) a = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int g = 0; g < kGroups; ++g) {
      const float* r = x + 4 * g * n + i;
      __m128 a = _mm_loadu_ps(r), b = _mm_loadu_ps(r + n), c = _mm_loadu_ps(r + 2 * n),
             d = _mm_loadu_ps(r + 3 * n);
      _MM_TRANSPOSE4_PS(a, b, c, d);  // a = column i of the 4 rows, b = column i + 1, ...
      acc[g] = _mm256_add_pd(acc[g], _mm256_cvtps_pd(_mm_mul_ps(a, a)));
      acc[g] = _mm256_add_pd(acc[g], _mm256_cvtps_pd(_mm_mul_ps(b, b)));
      acc[g] = _mm256_add_pd(acc[g], _mm256_cvtps_pd(_mm_mul_ps(c, c)));
      acc[g] = _mm256_add_pd(acc[g], _mm256_cvtps_pd(_mm_mul_ps(d, d)));
    }
  }
  for (int g = 0; g < kGroups; ++g) _mm256_storeu_pd(sums + 4 * g, acc[g]);
  for (; i < n; ++i) {
    for (int r = 0; r < 4 * kGroups; ++r)
      sums[r] += static_cast<double>(x[r * n + i] * x[r * n + i]);
  }
}

template <int kRows>
void NormRows(const float* x, int64_t n, float eps, const float* weight, float* y) {
  double sums[kRows];
  SumSquaresRows<kRows / 4>(x, n, sums);
  for (int j = 0; j < kRows; ++j) ScaleRow(x + j * n, n, sums[j], eps, weight, y + j * n);
}

}  // namespace

void RmsNormRowsAvx2(const float* x, int64_t rows, int64_t n, float eps, const float* weight,
                     float* y) {
  int64_t r = 0;
  for (; r + 8 <= rows; r += 8) NormRows<8>(x + r * n, n, eps, weight, y + r * n);
  for (; r + 4 <= rows; r += 4) NormRows<4>(x + r * n, n, eps, weight, y + r * n);
  for (; r < rows; ++r)
    ScaleRow(x + r * n, n, ref::SumOfSquares(x + r * n, n), eps, weight, y + r * n);
}

}  // namespace bitjit::kernels
