// The F16 GEMV (tied lm_head) JIT kernel: bit-exact against a scalar model of its documented
// float order, close to ref::LmHeadF16's sequential sum, on every ISA this CPU runs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/f16_gemv.h"
#include "codegen/ref/ref_kernels.h"
#include "ir/base/error.h"
#include "ir/base/half.h"
#include "tests/testing/isa.h"

namespace bitjit::codegen {
namespace {

int Lanes(Isa isa) {
  return IsAvx512Isa(isa) ? 16 : 8;
}

// The kernel's order (f16_gemv_kernel.h): per-lane FMA chains, then pairwise halving.
float KernelOrderDot(const float* x, const uint16_t* row, int64_t n, int lanes) {
  std::vector<float> acc(static_cast<size_t>(lanes), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    acc[i % lanes] = std::fma(HalfToFloat(row[i]), x[i], acc[i % lanes]);
  for (int width = lanes / 2; width >= 1; width /= 2) {
    for (int l = 0; l < width; ++l) acc[l] = acc[l] + acc[l + width];
  }
  return acc[0];
}

class F16GemvIsaTest : public bitjit::testing::IsaTest {};

TEST_P(F16GemvIsaTest, MatchesItsFloatOrderExactlyAndTheReferenceClosely) {
  const Isa isa = GetParam();
  std::mt19937 rng(31);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t n : {16, 32, 48, 2560}) {
    const int64_t vocab = 37;
    std::vector<uint16_t> table(static_cast<size_t>(n * vocab));
    for (uint16_t& h : table) h = FloatToHalf(normal(rng) * 0.05f);
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = normal(rng) * 3.0f;
    for (bool round_input : {true, false}) {
      std::vector<float> xin = x;
      if (round_input) {
        for (float& v : xin) v = HalfToFloat(FloatToHalf(v));
      }
      std::vector<float> want(static_cast<size_t>(vocab));
      ref::LmHeadF16(x.data(), 1, n, table.data(), vocab, round_input, want.data());
      const F16Gemv gemv(n, isa);
      F16TiledTable tiles = gemv.Allocate(vocab);
      gemv.PackTiles(table.data(), 0, tiles.n_tiles, &tiles);
      for (const auto& [begin, end] :
           {std::pair<int64_t, int64_t>{0, vocab}, {3, 4}, {5, 12}, {9, 37}, {20, 20}}) {
        std::vector<float> out(static_cast<size_t>(vocab), -7.0f);
        gemv.Run(tiles, x.data(), round_input, begin, end, out.data());
        for (int64_t v = 0; v < vocab; ++v) {
          SCOPED_TRACE("n " + std::to_string(n) + " row " + std::to_string(v));
          if (v < begin || v >= end) {
            ASSERT_EQ(out[v], -7.0f);
            continue;
          }
          double magnitude = 0;
          for (int64_t i = 0; i < n; ++i)
            magnitude += std::fabs(xin[i] * HalfToFloat(table[v * n + i]));
          ASSERT_NEAR(out[v], want[v], 1e-5 * magnitude + 1e-30);
          if (isa != Isa::kRef) {
            ASSERT_EQ(out[v], KernelOrderDot(xin.data(), &table[v * n], n, Lanes(isa)));
          } else {
            ASSERT_EQ(out[v], want[v]);
          }
        }
      }
    }
  }
}

TEST_P(F16GemvIsaTest, TiledTableHoldsEveryRowAndPacksInAnySplit) {
  const Isa isa = GetParam();
  const int64_t n = 48, vocab = 45;  // a partial last tile on every ISA
  std::vector<uint16_t> table(static_cast<size_t>(n * vocab));
  for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<uint16_t>(i * 7 + 1);
  const F16Gemv gemv(n, isa);
  F16TiledTable whole = gemv.Allocate(vocab), split = gemv.Allocate(vocab);
  ASSERT_EQ(whole.n_tiles, (vocab + gemv.tile_rows() - 1) / gemv.tile_rows());
  gemv.PackTiles(table.data(), 0, whole.n_tiles, &whole);
  for (int64_t t = whole.n_tiles; t > 0; --t) gemv.PackTiles(table.data(), t - 1, t, &split);
  for (int64_t v = 0; v < vocab; ++v) {
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(whole.at(v, i), table[v * n + i]) << "row " << v << " element " << i;
      ASSERT_EQ(split.at(v, i), table[v * n + i]) << "row " << v << " element " << i;
    }
  }
  // Padding rows of the last tile are zero.
  for (int64_t v = vocab; v < whole.n_tiles * whole.tile_rows; ++v)
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(whole.at(v, i), 0);
  EXPECT_THROW(gemv.PackTiles(table.data(), 0, whole.n_tiles + 1, &whole), Error);
  std::vector<float> x(static_cast<size_t>(n), 1.0f), out(static_cast<size_t>(vocab));
  EXPECT_THROW(gemv.Run(whole, x.data(), false, 0, vocab + 1, out.data()), Error);
  if (isa != Isa::kRef) {
    const F16Gemv other(2 * n, isa);
    EXPECT_THROW(other.Run(whole, x.data(), false, 0, vocab, out.data()), Error);
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, F16GemvIsaTest, ::testing::ValuesIn(bitjit::testing::kAllIsas),
                         bitjit::testing::IsaParamName);

// What only the generated kernel has (the reference takes any length and prefetches nothing).
class F16GemvJitTest : public bitjit::testing::IsaTest {};

TEST_P(F16GemvJitTest, RejectsRowLengthsTheKernelCannotTile) {
  EXPECT_THROW(F16Gemv(100, GetParam()), Error);
  EXPECT_THROW(F16Gemv(8, GetParam()), Error);
}

// Software prefetch changes which lines are in flight, never a result: every distance gives
// the same floats as none, and a distance that is not whole cache lines is refused.
TEST_P(F16GemvJitTest, PrefetchDistanceLeavesEveryResultUnchanged) {
  const Isa isa = GetParam();
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n = 2560, vocab = 93;
  std::vector<uint16_t> table(static_cast<size_t>(n * vocab));
  for (uint16_t& h : table) h = FloatToHalf(normal(rng) * 0.05f);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = normal(rng);
  const F16Gemv plain(n, isa, 0);
  F16TiledTable tiles = plain.Allocate(vocab);
  plain.PackTiles(table.data(), 0, tiles.n_tiles, &tiles);
  std::vector<float> want(static_cast<size_t>(vocab));
  plain.Run(tiles, x.data(), true, 0, vocab, want.data());
  for (int distance : {64, 1536, 4096, 65536}) {
    const F16Gemv prefetching(n, isa, distance);
    EXPECT_NE(prefetching.KernelName().find("_pf" + std::to_string(distance)), std::string::npos)
        << prefetching.KernelName();
    std::vector<float> out(static_cast<size_t>(vocab), -1.0f);
    prefetching.Run(tiles, x.data(), true, 0, vocab, out.data());
    ASSERT_EQ(out, want) << "prefetch distance " << distance;
  }
  EXPECT_THROW(F16Gemv(n, isa, 100), Error);
  EXPECT_THROW(F16Gemv(n, isa, -64), Error);
}

INSTANTIATE_TEST_SUITE_P(JitIsas, F16GemvJitTest, ::testing::ValuesIn(bitjit::testing::kJitIsas),
                         bitjit::testing::IsaParamName);

}  // namespace
}  // namespace bitjit::codegen
