// The exact parts of BitLinear, tested without tolerance (TOLERANCE.md, "exact parts").
#include <gtest/gtest.h>

#include <random>

#include "codegen/ref/ref_kernels.h"
#include "codegen/ref/ternary_ref.h"
#include "frontend/gguf/gguf_file.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

TEST(ActivationQuantization, RoundsHalfToEven) {
  const float x[] = {127.0f, 0.5f, -0.5f, 1.5f, -2.5f, 3.5f};
  int8_t q[6];
  const float s = ref::QuantizeRow(x, 6, q);
  EXPECT_EQ(s, 1.0f);
  const int8_t expected[] = {127, 0, 0, 2, -2, 4};  // half away from zero would give 1, -1, -3
  for (int i = 0; i < 6; ++i) EXPECT_EQ(q[i], expected[i]) << "element " << i;
}

TEST(ActivationQuantization, ScaleFromDoubleMaxAndFloorOfTinyRows) {
  const float tiny[] = {1e-7f, -2e-7f};
  int8_t q[2];
  EXPECT_EQ(ref::QuantizeRow(tiny, 2, q), static_cast<float>(127.0 / 1e-5));
  const float x[] = {3.0f, -1.0f, 0.0f};
  EXPECT_EQ(ref::QuantizeRow(x, 3, q), static_cast<float>(127.0 / 3.0));
  EXPECT_EQ(q[0], 127);
  EXPECT_EQ(q[1], -42);  // -42.333 -> -42
}

// Decoded golden weights hold only -1, 0, +1 (codes 0..2), and the reference ternary matmul
// equals a plain integer product over those decoded weights.
TEST(TernaryMatmul, GoldenWeightsDecodeToTernaryAndDotsAreExact) {
  for (const auto& name : testing::GoldenCaseNames()) {
    auto f = gguf::GgufFile::Open(testing::GoldenModelPath(name));
    const auto* t = f->FindTensor("blk.0.ffn_down.weight");
    ASSERT_NE(t, nullptr);
    const int64_t k = static_cast<int64_t>(t->ne[0]), n = static_cast<int64_t>(t->ne[1]);
    int counts[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n * k; ++i) {
      const int code = (t->data[i / 128 * 32 + i % 32] >> (6 - 2 * (i % 128 / 32))) & 3;
      ++counts[code];
    }
    EXPECT_EQ(counts[3], 0) << name;
    EXPECT_GT(counts[0], 0);
    EXPECT_GT(counts[2], 0);
    std::mt19937 rng(7);
    std::vector<int8_t> q(static_cast<size_t>(2 * k));
    for (auto& v : q) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    std::vector<int32_t> out(static_cast<size_t>(2 * n));
    ref::TernaryMatmulI32(t->data.data(), n, k, q.data(), 2, out.data());
    for (int64_t tok = 0; tok < 2; ++tok) {
      for (int64_t r = 0; r < n; r += 97) {
        int64_t expect = 0;  // the c = w + 1 form bitnet.cpp uses: sum c*q - sum q
        for (int64_t i = 0; i < k; ++i) {
          const int64_t idx = r * k + i;
          const int code = (t->data[idx / 128 * 32 + idx % 32] >> (6 - 2 * (idx % 128 / 32))) & 3;
          expect += int64_t{code} * q[tok * k + i] - q[tok * k + i];
        }
        EXPECT_EQ(out[tok * n + r], expect) << name << " row " << r;
      }
    }
  }
}

}  // namespace
}  // namespace bitjit
