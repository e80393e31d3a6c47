// The JIT activation quantizer against ref::QuantizeRow, bit for bit, on every ISA this CPU
// runs: same scale, same int8 (ties to even), and the sum of q the ternary kernels need.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/quant/activation_quantizer.h"
#include "codegen/ref/ref_kernels.h"
#include "ir/base/error.h"
#include "tests/testing/isa.h"

namespace bitjit::codegen {
namespace {

class QuantizeIsaTest : public bitjit::testing::IsaTest {};

// Quantizes `rows` rows with the ISA under test and with the reference; all must match.
void ExpectMatchesReference(Isa isa, const std::vector<float>& x, int64_t k) {
  const int64_t rows = static_cast<int64_t>(x.size()) / k;
  std::vector<int8_t> q(x.size()), want_q(x.size());
  std::vector<float> s(static_cast<size_t>(rows)), want_s(static_cast<size_t>(rows));
  std::vector<int32_t> sums(static_cast<size_t>(rows), 12345);
  for (int64_t r = 0; r < rows; ++r) want_s[r] = ref::QuantizeRow(&x[r * k], k, &want_q[r * k]);
  const ActivationQuantizer quantizer(k, isa);
  quantizer.Run(x.data(), rows, q.data(), s.data(), sums.data());
  for (int64_t r = 0; r < rows; ++r) {
    ASSERT_EQ(s[r], want_s[r]) << "K " << k << " row " << r;
    int32_t want_sum = 0;
    for (int64_t i = 0; i < k; ++i) {
      ASSERT_EQ(q[r * k + i], want_q[r * k + i])
          << "K " << k << " row " << r << " i " << i << " x " << x[r * k + i] << " s " << s[r];
      want_sum += want_q[r * k + i];
    }
    ASSERT_EQ(sums[r], want_sum) << "K " << k << " row " << r;
  }
}

TEST_P(QuantizeIsaTest, SpecVectorRoundsHalfToEven) {
  const std::vector<float> x = {127.0f, 0.5f, -0.5f, 1.5f, -2.5f, 3.5f};
  std::vector<int8_t> q(6);
  float s = 0;
  int32_t sum = 0;
  ActivationQuantizer(6, GetParam()).Run(x.data(), 1, q.data(), &s, &sum);
  EXPECT_EQ(s, 1.0f);
  EXPECT_EQ(q, (std::vector<int8_t>{127, 0, 0, 2, -2, 4}));
  EXPECT_EQ(sum, 131);
}

TEST_P(QuantizeIsaTest, MatchesReferenceOnRandomRows) {
  std::mt19937 rng(17);
  for (int64_t k : {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 2560, 6912}) {
    for (int64_t rows : {1, 3}) {
      std::vector<float> x(static_cast<size_t>(k * rows));
      std::normal_distribution<float> normal(0.0f, 3.0f);
      for (float& v : x) v = normal(rng);
      ExpectMatchesReference(GetParam(), x, k);
      if (HasFatalFailure()) return;
    }
  }
}

// Rows whose products land exactly on .5 (max 127 gives s = 1, halves are ties), tiny rows
// (the 1e-5 floor), zeros, and large magnitudes.
TEST_P(QuantizeIsaTest, MatchesReferenceOnTiesAndExtremes) {
  std::mt19937 rng(23);
  for (int64_t k : {40, 2560, 19}) {
    std::vector<float> ties(static_cast<size_t>(k));
    for (float& v : ties) v = static_cast<float>(static_cast<int>(rng() % 509) - 254) * 0.5f;
    ties[0] = -127.0f;
    ExpectMatchesReference(GetParam(), ties, k);
    std::vector<float> tiny(static_cast<size_t>(k));
    for (float& v : tiny) v = static_cast<float>(static_cast<int>(rng() % 200) - 100) * 1e-9f;
    ExpectMatchesReference(GetParam(), tiny, k);
    ExpectMatchesReference(GetParam(), std::vector<float>(static_cast<size_t>(k), 0.0f), k);
    std::vector<float> big(static_cast<size_t>(k));
    for (float& v : big) v = std::ldexp(static_cast<float>(rng() % 1000) - 500.0f, 100);
    ExpectMatchesReference(GetParam(), big, k);
    if (HasFatalFailure()) return;
  }
}

// A row that ends right before an unmapped page: no read past it, and q is written exactly.
TEST_P(QuantizeIsaTest, StaysInsideItsRows) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  uint8_t* mem = static_cast<uint8_t*>(
      mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(mem, MAP_FAILED);
  ASSERT_EQ(mprotect(mem + page, page, PROT_NONE), 0);
  for (int64_t k : {1, 3, 13, 21, 37}) {
    float* x = reinterpret_cast<float*>(mem + page) - k;
    for (int64_t i = 0; i < k; ++i) x[i] = static_cast<float>(i) - 5.25f;
    std::vector<int8_t> q(static_cast<size_t>(k) + 8, 99);
    float s;
    ActivationQuantizer(k, GetParam()).Run(x, 1, q.data(), &s, nullptr);
    std::vector<int8_t> want(static_cast<size_t>(k));
    ref::QuantizeRow(x, k, want.data());
    for (int64_t i = 0; i < k; ++i) ASSERT_EQ(q[i], want[i]) << "K " << k << " i " << i;
    for (size_t i = static_cast<size_t>(k); i < q.size(); ++i) ASSERT_EQ(q[i], 99) << "K " << k;
  }
  munmap(mem, 2 * page);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, QuantizeIsaTest, ::testing::ValuesIn(bitjit::testing::kAllIsas),
                         bitjit::testing::IsaParamName);

}  // namespace
}  // namespace bitjit::codegen
