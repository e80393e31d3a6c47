// Random ternary weights and activations for the ternary matmul tests, the reference they
// are checked against (ref::TernaryMatmulI32 on the original I2_S bytes), and the checks every
// kernel family shares.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "codegen/ref/ternary_ref.h"
#include "codegen/ternary/ternary_layout.h"
#include "codegen/ternary/ternary_matmul.h"

namespace bitjit::testing {

// Random I2_S codes (all four codes, including the never-written 3 that must read as 0).
inline std::vector<uint8_t> RandomI2s(int64_t k, int64_t n, std::mt19937& rng) {
  std::vector<uint8_t> bytes(codegen::I2sCodeBytes(k * n));
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  return bytes;
}

// Random activations over the whole int8 range, with both extremes present.
inline std::vector<int8_t> RandomQ(int64_t k, int64_t n_tokens, std::mt19937& rng) {
  std::vector<int8_t> q(static_cast<size_t>(k * n_tokens));
  for (int8_t& v : q) v = static_cast<int8_t>(rng());
  if (!q.empty()) q[0] = -128;
  if (q.size() > 1) q[q.size() - 1] = 127;
  return q;
}

// out[t * n + r] = sum_k w[r][k] * q[t * k + k'], exact.
inline std::vector<int32_t> ReferenceI32(const std::vector<uint8_t>& i2s, int64_t k, int64_t n,
                                         const std::vector<int8_t>& q, int64_t n_tokens) {
  std::vector<int32_t> out(static_cast<size_t>(n * n_tokens));
  ref::TernaryMatmulI32(i2s.data(), n, k, q.data(), n_tokens, out.data());
  return out;
}

// Inputs of a float-epilogue check: random weights and activations, the exact dots, random
// activation scales in [0.01, 300) and the activations' sums.
struct TernaryFloatCase {
  std::vector<uint8_t> i2s;
  std::vector<int8_t> q;
  std::vector<int32_t> dot;
  std::vector<float> q_scale;
  std::vector<int32_t> q_sum;
};

inline TernaryFloatCase MakeTernaryFloatCase(int64_t k, int64_t n, int64_t n_tokens,
                                             std::mt19937& rng) {
  TernaryFloatCase c;
  c.i2s = RandomI2s(k, n, rng);
  c.q = RandomQ(k, n_tokens, rng);
  c.dot = ReferenceI32(c.i2s, k, n, c.q, n_tokens);
  c.q_scale.resize(static_cast<size_t>(n_tokens));
  std::uniform_real_distribution<float> dist(0.01f, 300.0f);
  for (float& v : c.q_scale) v = dist(rng);
  c.q_sum.resize(static_cast<size_t>(n_tokens));
  codegen::TernaryMatmul::ActivationSums(c.q.data(), k, n_tokens, c.q_sum.data());
  return c;
}

inline constexpr int32_t kTernarySentinel = 0x5EC0DE;

// All rows of all tokens of `mm` on random data, bit for bit against the reference; the
// output's padding (ld_out > n) must stay untouched.
inline void ExpectTernaryMatchesReference(const codegen::TernaryMatmul& mm, int64_t n_tokens,
                                          std::mt19937& rng) {
  const int64_t k = mm.k(), n = mm.n();
  SCOPED_TRACE("K=" + std::to_string(k) + " N=" + std::to_string(n) +
               " T=" + std::to_string(n_tokens) + " R=" + std::to_string(mm.tile().rows));
  const std::vector<uint8_t> i2s = RandomI2s(k, n, rng);
  const std::vector<int8_t> q = RandomQ(k, n_tokens, rng);
  const std::vector<int32_t> expected = ReferenceI32(i2s, k, n, q, n_tokens);
  const codegen::TernaryPackedWeights w = mm.Pack(i2s.data(), 1.0f);
  const int64_t ld = n + 3;
  std::vector<int32_t> out(static_cast<size_t>(ld * n_tokens), kTernarySentinel);
  mm.RunI32(w, q.data(), n_tokens, 0, n, out.data(), ld);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < ld; ++r) {
      const int32_t want = r < n ? expected[t * n + r] : kTernarySentinel;
      ASSERT_EQ(out[t * ld + r], want) << "token " << t << " row " << r;
    }
  }
}

// Row sub-ranges of an N = 100 matmul, as the runtime splits rows across threads: exactly the
// rows asked for are written, whatever their alignment to the tile.
inline void ExpectTernaryWritesExactlyTheRequestedRows(const codegen::TernaryMatmul& mm,
                                                       int64_t n_tokens, std::mt19937& rng) {
  const int64_t k = mm.k(), n = mm.n();
  const std::vector<uint8_t> i2s = RandomI2s(k, n, rng);
  const std::vector<int8_t> q = RandomQ(k, n_tokens, rng);
  const std::vector<int32_t> expected = ReferenceI32(i2s, k, n, q, n_tokens);
  const codegen::TernaryPackedWeights w = mm.Pack(i2s.data(), 1.0f);
  const std::pair<int64_t, int64_t> ranges[] = {{0, 0},   {0, 1},    {5, 6},   {3, 97},   {15, 17},
                                                {31, 33}, {16, 32},  {32, 64}, {64, 100}, {1, 100},
                                                {0, 99},  {99, 100}, {47, 81}};
  for (const auto& [begin, end] : ranges) {
    SCOPED_TRACE("K=" + std::to_string(k) + " T=" + std::to_string(n_tokens) + " rows [" +
                 std::to_string(begin) + ", " + std::to_string(end) + ")");
    std::vector<int32_t> out(static_cast<size_t>(n * n_tokens), kTernarySentinel);
    mm.RunI32(w, q.data(), n_tokens, begin, end, out.data());
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t r = 0; r < n; ++r) {
        const int32_t want = r >= begin && r < end ? expected[t * n + r] : kTernarySentinel;
        ASSERT_EQ(out[t * n + r], want) << "token " << t << " row " << r;
      }
    }
  }
}

}  // namespace bitjit::testing
