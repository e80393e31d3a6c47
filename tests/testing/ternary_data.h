// Random ternary weights and activations for the ternary matmul tests, and the reference they
// are checked against (ref::TernaryMatmulI32 on the original I2_S bytes).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "codegen/ref/ternary_ref.h"
#include "codegen/ternary/ternary_layout.h"

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

}  // namespace bitjit::testing
