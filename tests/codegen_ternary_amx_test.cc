// The AMX-INT8 ternary GEMM (codegen/ternary/ternary_gemm_amx.h) against the reference, on the
// shape classes the other ternary kernel families are tested on: K tails (of the 64-k B tile,
// the 16/20-k chunk and the 4-k quad), row tails and row sub-ranges, token counts around the
// 16-token A tile and the 32-token pair, both packings and every tile height. The int32 dot
// must be bit-identical to ref::TernaryMatmulI32, the float output to the avx512vnni kernels'.
// Skipped, with the reason, where the CPU or the OS cannot run AMX.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/ternary/ternary_epilogue.h"
#include "codegen/ternary/ternary_layout.h"
#include "codegen/ternary/ternary_matmul.h"
#include "ir/base/error.h"
#include "tests/testing/ternary_data.h"

namespace bitjit::codegen {
namespace {

using bitjit::testing::RandomI2s;
using bitjit::testing::RandomQ;
using bitjit::testing::ReferenceI32;

constexpr int32_t kSentinel = bitjit::testing::kTernarySentinel;

class TernaryAmxTest : public ::testing::TestWithParam<TernaryPacking> {
 protected:
  void SetUp() override {
    try {
      ResolveIsa(Isa::kAvx512Amx);
    } catch (const Error& e) {
      GTEST_SKIP() << e.what();
    }
    if (!TernaryPackingSupported(Isa::kAvx512Amx, packing())) {
      GTEST_SKIP() << "this CPU lacks AVX512_VBMI";
    }
  }
  TernaryPacking packing() const { return GetParam(); }

  // The front door on avx512amx with the AMX GEMM forced down to `min_tokens`. 64-row tiles
  // take a smaller VNNI token tile (that kernel runs out of registers at 64 x 8).
  TernaryMatmul Amx(int64_t k, int64_t n, int rows = 0, int64_t min_tokens = 1) const {
    TernaryMatmul mm(k, n, Isa::kAvx512Amx, {rows, rows == 64 ? 2 : 0, packing()});
    mm.set_amx_min_tokens(min_tokens);
    return mm;
  }
};

using bitjit::testing::ExpectTernaryMatchesReference;

TEST_P(TernaryAmxTest, MatchesReferenceOnModelAndEdgeShapes) {
  std::mt19937 rng(1234);
  const int64_t ks[] = {2560, 6912, 64, 128, 192, 200, 4224, 32, 16, 1,  2,  3,
                        5,    17,   63, 65,  130, 203, 19,   20, 21, 39, 40, 41};
  const int64_t ns[] = {1, 7, 16, 33, 100};
  const int64_t tokens[] = {1, 2, 15, 16, 17, 31, 32, 33, 48, 50};
  for (int64_t k : ks) {
    for (int64_t n : ns) {
      for (int64_t t : tokens) {
        if (k * n * t > 8'000'000) continue;  // keep the scalar reference fast
        ExpectTernaryMatchesReference(Amx(k, n), t, rng);
        if (HasFatalFailure()) return;
      }
    }
  }
}

// Every tile height of the packed layout the zmm kernels use: 16 (two tiles per 32-row
// block), 32, 64 (half a tile per block; 2 bits only: the 1.6-bit VNNI GEMV that the same
// matmul needs for one token has no registers for 64 rows).
TEST_P(TernaryAmxTest, MatchesReferenceWithEveryTileHeight) {
  std::mt19937 rng(99);
  for (int rows : {16, 32, 64}) {
    if (rows == 64 && packing() == TernaryPacking::k1p6Bit) continue;
    for (int64_t t : {5, 16, 40}) {
      ExpectTernaryMatchesReference(Amx(200, 70, rows), t, rng);
      ExpectTernaryMatchesReference(Amx(2560, 97, rows), t, rng);
      if (HasFatalFailure()) return;
    }
  }
}

// Row sub-ranges, as threads split the rows: exactly the rows asked for are written.
TEST_P(TernaryAmxTest, WritesExactlyTheRequestedRows) {
  std::mt19937 rng(7);
  for (int64_t k : {2560, 200, 35}) {
    for (int64_t n_tokens : {1, 9, 17, 40}) {
      bitjit::testing::ExpectTernaryWritesExactlyTheRequestedRows(Amx(k, 100), n_tokens, rng);
      if (HasFatalFailure()) return;
    }
  }
}

// All +1 or all -1 weights against q = -128 or 127, up to the largest K: int32 stays exact.
TEST_P(TernaryAmxTest, ExtremeValuesDoNotOverflow) {
  for (const uint8_t code : {uint8_t{2}, uint8_t{0}}) {
    for (const int8_t value : {int8_t{-128}, int8_t{127}}) {
      for (int64_t k : {int64_t{6912}, kTernaryMaxK}) {
        const int64_t n = 20, n_tokens = 17;
        SCOPED_TRACE("code " + std::to_string(code) + " q " + std::to_string(value) + " K " +
                     std::to_string(k));
        std::vector<uint8_t> i2s(I2sCodeBytes(k * n), static_cast<uint8_t>(code * 0x55));
        std::vector<int8_t> q(static_cast<size_t>(k * n_tokens), value);
        const TernaryMatmul mm = Amx(k, n);
        const TernaryPackedWeights w = mm.Pack(i2s.data(), 1.0f);
        std::vector<int32_t> out(static_cast<size_t>(n * n_tokens));
        mm.RunI32(w, q.data(), n_tokens, 0, n, out.data());
        for (int64_t i = 0; i < n * n_tokens; ++i) {
          ASSERT_EQ(out[i], (code - 1) * value * k) << "output " << i;
        }
      }
    }
  }
}

// The float epilogue: bit-identical to the avx512vnni kernels and to the scalar formula.
TEST_P(TernaryAmxTest, FloatOutputIsBitIdenticalToVnni) {
  std::mt19937 rng(11);
  for (int64_t k : {2560, 6912, 203}) {
    for (int64_t n_tokens : {1, 13, 16, 33, 64}) {
      const int64_t n = 77;
      const bitjit::testing::TernaryFloatCase c =
          bitjit::testing::MakeTernaryFloatCase(k, n, n_tokens, rng);
      const float scale = 1.7182818f;

      const TernaryMatmul amx = Amx(k, n);
      const TernaryMatmul vnni(k, n, Isa::kAvx512Vnni, amx.tile());
      const TernaryPackedWeights w = amx.Pack(c.i2s.data(), scale);
      std::vector<float> y(static_cast<size_t>(n * n_tokens), -1.0f), y_vnni = y, want = y;
      amx.RunF32(w, c.q.data(), c.q_scale.data(), n_tokens, 2, n - 1, y.data(), 0, c.q_sum.data());
      vnni.RunF32(w, c.q.data(), c.q_scale.data(), n_tokens, 2, n - 1, y_vnni.data(), 0,
                  c.q_sum.data());
      TernaryEpilogueRows(c.dot.data(), n, c.q_sum.data(), c.q_scale.data(), scale, n_tokens, 2,
                          n - 1, want.data(), n);
      for (size_t i = 0; i < y.size(); ++i) {
        ASSERT_EQ(std::memcmp(&y[i], &y_vnni[i], 4), 0)
            << "K " << k << " T " << n_tokens << " output " << i << ": " << y[i] << " vs vnni "
            << y_vnni[i];
        ASSERT_EQ(std::memcmp(&y[i], &want[i], 4), 0) << "K " << k << " output " << i;
      }
    }
  }
}

// Activations that end right before an unmapped page: the A tiles read 64-k steps, so the
// last tokens must come from the padded copy, never from past the end of q.
TEST_P(TernaryAmxTest, ReadsNoActivationPastK) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t bytes = 64 * page;
  void* mem =
      mmap(nullptr, bytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  ASSERT_EQ(mprotect(static_cast<uint8_t*>(mem) + bytes, page, PROT_NONE), 0);
  std::mt19937 rng(5);
  for (int64_t k : {1, 2, 3, 5, 7, 13, 29, 37, 63, 65, 203, 2500}) {
    for (int64_t n_tokens : {1, 3, 16, 17, 32, 33, 70}) {
      const int64_t n = 9;
      SCOPED_TRACE("K=" + std::to_string(k) + " T=" + std::to_string(n_tokens));
      const std::vector<uint8_t> i2s = RandomI2s(k, n, rng);
      const std::vector<int8_t> q = RandomQ(k, n_tokens, rng);
      ASSERT_LE(q.size(), bytes);
      int8_t* guarded = static_cast<int8_t*>(mem) + bytes - q.size();
      std::memcpy(guarded, q.data(), q.size());
      const TernaryMatmul mm = Amx(k, n);
      const TernaryPackedWeights w = mm.Pack(i2s.data(), 1.0f);
      std::vector<int32_t> out(static_cast<size_t>(n * n_tokens));
      mm.RunI32(w, guarded, n_tokens, 0, n, out.data());
      ASSERT_EQ(out, ReferenceI32(i2s, k, n, q, n_tokens));
    }
  }
  munmap(mem, bytes + page);
}

// Two threads splitting the rows of one call, as the runtime does: each has its own scratch.
TEST_P(TernaryAmxTest, ThreadsSplittingRowsAgree) {
  std::mt19937 rng(21);
  const int64_t k = 2560, n = 160, n_tokens = 50;
  const std::vector<uint8_t> i2s = RandomI2s(k, n, rng);
  const std::vector<int8_t> q = RandomQ(k, n_tokens, rng);
  const TernaryMatmul mm = Amx(k, n);
  const TernaryPackedWeights w = mm.Pack(i2s.data(), 1.0f);
  std::vector<int32_t> out(static_cast<size_t>(n * n_tokens), kSentinel);
  std::thread other([&] { mm.RunI32(w, q.data(), n_tokens, 64, n, out.data()); });
  mm.RunI32(w, q.data(), n_tokens, 0, 64, out.data());
  other.join();
  EXPECT_EQ(out, ReferenceI32(i2s, k, n, q, n_tokens));
}

// avx512amx picks the AMX GEMM from kTernaryAmxMinTokens tokens on; other ISAs have none.
TEST_P(TernaryAmxTest, SelectedOnlyOnAvx512Amx) {
  const TernaryMatmul amx(2560, 64, Isa::kAvx512Amx, {0, 0, packing()});
  EXPECT_TRUE(amx.has_amx());
  EXPECT_EQ(amx.amx_min_tokens(), kTernaryAmxMinTokens);
  EXPECT_EQ(amx.tile().rows, DefaultTernaryTile(Isa::kAvx512Vnni).rows);
  EXPECT_FALSE(TernaryMatmul(2560, 64, Isa::kAvx512Vnni, {0, 0, packing()}).has_amx());
  std::mt19937 rng(3);
  ExpectTernaryMatchesReference(amx, kTernaryAmxMinTokens, rng);      // AMX
  ExpectTernaryMatchesReference(amx, kTernaryAmxMinTokens - 1, rng);  // VNNI GEMM
}

INSTANTIATE_TEST_SUITE_P(Packings, TernaryAmxTest,
                         ::testing::Values(TernaryPacking::k2Bit, TernaryPacking::k1p6Bit),
                         [](const ::testing::TestParamInfo<TernaryPacking>& info) {
                           return info.param == TernaryPacking::k1p6Bit ? std::string("1p6bit")
                                                                        : std::string("2bit");
                         });

}  // namespace
}  // namespace bitjit::codegen
