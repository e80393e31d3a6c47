#include "codegen/simd/rms_norm_avx2.h"

#include <immintrin.h>

#include "codegen/ref/ref_kernels.h"

namespace bitjit::kernels {
namespace {

void ScaleRow(const float* x, int64_t n, double sum, float eps, const float* weight, float* y) {
  const float scale = ref::RmsNormScale(sum, n, eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
  if (weight) {
    for (int64_t i = 0; i < n; ++i) y[i] *= weight[i];
  }
}

// Sums of squares of 4 rows, each lane in its row's order.
__attribute__((target("avx2"))) void SumSquares4(const float* x, int64_t n, double sums[4]) {
  const float* r0 = x;
  const float* r1 = x + n;
  const float* r2 = x + 2 * n;
  const float* r3 = x + 3 * n;
  __m256d acc = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m128 a = _mm_loadu_ps(r0 + i), b = _mm_loadu_ps(r1 + i), c = _mm_loadu_ps(r2 + i),
           d = _mm_loadu_ps(r3 + i);
    _MM_TRANSPOSE4_PS(a, b, c, d);  // a = column i of the 4 rows, b = column i + 1, ...
    acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm_mul_ps(a, a)));
    acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm_mul_ps(b, b)));
    acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm_mul_ps(c, c)));
    acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm_mul_ps(d, d)));
  }
  _mm256_storeu_pd(sums, acc);
  for (; i < n; ++i) {
    sums[0] += static_cast<double>(r0[i] * r0[i]);
    sums[1] += static_cast<double>(r1[i] * r1[i]);
    sums[2] += static_cast<double>(r2[i] * r2[i]);
    sums[3] += static_cast<double>(r3[i] * r3[i]);
  }
}

}  // namespace

void RmsNormRowsAvx2(const float* x, int64_t rows, int64_t n, float eps, const float* weight,
                     float* y) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    double sums[4];
    SumSquares4(x + r * n, n, sums);
    for (int j = 0; j < 4; ++j) ScaleRow(x + (r + j) * n, n, sums[j], eps, weight, y + (r + j) * n);
  }
  for (; r < rows; ++r)
    ScaleRow(x + r * n, n, ref::SumOfSquares(x + r * n, n), eps, weight, y + r * n);
}

}  // namespace bitjit::kernels
