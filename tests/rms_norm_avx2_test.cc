// The compiled path's RMS norm runs four rows' double sums side by side: bit-identical to
// ref::RmsNorm (then the weight product) row by row, for any row count and length.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/ref/ref_kernels.h"
#include "codegen/simd/rms_norm_avx2.h"

namespace bitjit::kernels {
namespace {

TEST(RmsNormRowsAvx2, IsBitIdenticalToTheReferenceRowByRow) {
  if (!codegen::IsaSupported(codegen::Isa::kAvx2)) GTEST_SKIP() << "this CPU lacks AVX2";
  std::mt19937 rng(17);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> exponent(-20.0f, 20.0f);
  for (int64_t rows : {1, 3, 4, 5, 8, 9, 12, 16, 19}) {
    for (int64_t n : {1, 3, 4, 7, 37, 2560, 6912}) {
      // Values over many magnitudes, so that the order of the double sums matters.
      std::vector<float> x(rows * n), w(n);
      for (float& v : x) v = normal(rng) * std::exp2(exponent(rng));
      for (float& v : w) v = normal(rng);
      for (const float* weight :
           {static_cast<const float*>(nullptr), static_cast<const float*>(w.data())}) {
        std::vector<float> want(rows * n), got(rows * n, -1.0f);
        ref::RmsNorm(x.data(), rows, n, 1e-5f, want.data());
        if (weight) {
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t i = 0; i < n; ++i) want[r * n + i] *= weight[i];
        }
        RmsNormRowsAvx2(x.data(), rows, n, 1e-5f, weight, got.data());
        ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0)
            << rows << " rows of " << n << (weight ? " with" : " without") << " weight";
      }
    }
  }
}

}  // namespace
}  // namespace bitjit::kernels
