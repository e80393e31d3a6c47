// The compiled path's relu²·up epilogue: bit-identical to ggml's scalar form, specials included.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/ref/ref_kernels.h"
#include "codegen/simd/elementwise_avx2.h"
#include "ir/base/half.h"

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

TEST(FloatsToHalvesF16c, MatchesFloatToHalfForEveryKindOfValue) {
  if (!codegen::IsaSupported(codegen::Isa::kAvx2)) GTEST_SKIP() << "this CPU lacks AVX2";
  std::vector<float> x;
  std::mt19937 rng(3);
  // Random bit patterns cover normals, subnormals, NaN payloads and both signs...
  for (int i = 0; i < 200000; ++i) {
    const uint32_t u = static_cast<uint32_t>(rng());
    float f;
    std::memcpy(&f, &u, 4);
    x.push_back(f);
  }
  // ...and the edges of f16: ties, the overflow threshold, the smallest subnormal.
  for (float f :
       {65504.0f, 65519.996f, 65520.0f, 1.0009765625f + 0.00048828125f, 1.0f + 0.00048828125f,
        5.9604645e-8f, 2.9802322e-8f, 2.9802326e-8f, 6.1035156e-5f, -0.0f, 0.0f, 1e-45f}) {
    x.push_back(f);
    x.push_back(-f);
  }
  for (int64_t n : {int64_t{0}, int64_t{5}, static_cast<int64_t>(x.size())}) {
    std::vector<uint16_t> got(static_cast<size_t>(n), 0xdead);
    FloatsToHalvesF16c(x.data(), n, got.data());
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(got[i], FloatToHalf(x[i])) << "value " << x[i] << " bits " << Bits(x[i]);
  }
}

TEST(RopeNeoxRotateAvx2, IsBitIdenticalToTheReferenceRotation) {
  if (!codegen::IsaSupported(codegen::Isa::kAvx2)) GTEST_SKIP() << "this CPU lacks AVX2";
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int head_dim : {8, 16, 64, 96, 100, 128, 256}) {
    for (int32_t pos : {0, 1, 7, 1000, 4095}) {
      const int n_head = 3;
      std::vector<float> cos_t(head_dim / 2), sin_t(head_dim / 2);
      ref::RopeAngles(pos, head_dim, 500000.0f, /*bitnet_numerics=*/true, cos_t.data(),
                      sin_t.data());
      std::vector<float> x(n_head * head_dim);
      for (float& v : x) v = normal(rng);
      std::vector<float> want = x, got = x;
      ref::RopeNeoxRotate(want.data(), n_head, head_dim, cos_t.data(), sin_t.data(), true);
      RopeNeoxRotateAvx2(got.data(), n_head, head_dim, cos_t.data(), sin_t.data());
      for (size_t i = 0; i < x.size(); ++i)
        ASSERT_EQ(Bits(got[i]), Bits(want[i]))
            << "head_dim " << head_dim << " pos " << pos << " " << i;
    }
  }
}

TEST(RopeNormRotateAvx2, IsBitIdenticalToTheReferenceRotation) {
  if (!codegen::IsaSupported(codegen::Isa::kAvx2)) GTEST_SKIP() << "this CPU lacks AVX2";
  std::mt19937 rng(12);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int head_dim : {8, 64, 100, 128, 256}) {
    for (int32_t pos : {0, 3, 999}) {
      std::vector<float> cos_t(head_dim / 2), sin_t(head_dim / 2);
      ref::RopeAngles(pos, head_dim, 1000042.0f, true, cos_t.data(), sin_t.data());
      std::vector<float> x(2 * head_dim);
      for (float& v : x) v = normal(rng);
      std::vector<float> want = x, got = x;
      ref::RopeNormRotate(want.data(), 2, head_dim, cos_t.data(), sin_t.data(), true);
      RopeNormRotateAvx2(got.data(), 2, head_dim, cos_t.data(), sin_t.data());
      for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(Bits(got[i]), Bits(want[i])) << i;
    }
  }
}

// ggml's expf inside the SiLU over its whole range: overflow to inf (x < -88.7), subnormal
// results, |n| > 192, NaN, signed zeros and random bit patterns.
TEST(SiluMulAvx2, IsBitIdenticalToTheReferenceSilu) {
  if (!codegen::IsaSupported(codegen::Isa::kAvx2)) GTEST_SKIP() << "this CPU lacks AVX2";
  std::vector<float> gate, up;
  std::mt19937 rng(13);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  for (float x = -200.0f; x <= 200.0f; x += 0.0371f) gate.push_back(x);
  for (float x : {0.0f, -0.0f, 1e-40f, -1e-40f, 88.7f, -88.7f, 103.9f, -103.9f, 1e30f, -1e30f,
                  INFINITY, -INFINITY, NAN})
    gate.push_back(x);
  for (int i = 0; i < 100000; ++i) {
    const uint32_t u = static_cast<uint32_t>(rng());
    float f;
    std::memcpy(&f, &u, 4);
    gate.push_back(f);
  }
  for (size_t i = 0; i < gate.size(); ++i) up.push_back(normal(rng));
  const int64_t n = static_cast<int64_t>(gate.size());
  std::vector<float> got(n), alone(n);
  SiluMulAvx2(gate.data(), up.data(), n, got.data());
  SiluMulAvx2(gate.data(), nullptr, n, alone.data());
  for (int64_t i = 0; i < n; ++i) {
    const float s = ref::Silu(gate[i]);
    ASSERT_EQ(Bits(alone[i]), Bits(s)) << "silu(" << gate[i] << ")";
    ASSERT_EQ(Bits(got[i]), Bits(s * up[i])) << "silu(" << gate[i] << ") * " << up[i];
  }
}

}  // namespace
}  // namespace bitjit::kernels
