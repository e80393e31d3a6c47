// The compiled path's relu²·up epilogue: bit-identical to ggml's scalar form, specials included.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "codegen/cpu_features.h"
#include "runtime/kernels/elementwise_avx2.h"

namespace bitjit::kernels {
namespace {

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

TEST(ReluSqrMulAvx2, MatchesTheScalarFormBitForBit) {
  if (!codegen::IsaSupported(codegen::Isa::kAvx2)) GTEST_SKIP() << "this CPU lacks AVX2";
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int64_t n : {0, 1, 7, 8, 9, 31, 6912}) {
    std::vector<float> gate(static_cast<size_t>(n)), up(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      gate[i] = normal(rng);
      up[i] = normal(rng);
    }
    const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                              -0.0f,
                              0.0f,
                              std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(),
                              1e-30f,
                              -1e-30f,
                              1e20f};
    for (size_t s = 0; s < std::size(specials) && static_cast<int64_t>(s) < n; ++s)
      gate[s * n / std::size(specials)] = specials[s];
    std::vector<float> want = gate;
    for (int64_t i = 0; i < n; ++i) {
      const float g = want[i] > 0.0f ? want[i] : 0.0f;
      want[i] = (g * g) * up[i];
    }
    ReluSqrMulAvx2(gate.data(), up.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(Bits(gate[i]), Bits(want[i]))
          << "n " << n << " i " << i << ": " << gate[i] << " vs " << want[i];
    }
  }
}

}  // namespace
}  // namespace bitjit::kernels
