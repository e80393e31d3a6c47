// The ternary matmul JIT kernels against the portable reference, on every ISA path this CPU
// can run, for each weight packing the path reads (2 bits everywhere; 1.6 bits on ref, avx2 and
// avx512vnni). The integer dot is exact, so results must be bit-identical to
// ref::TernaryMatmulI32 on the same I2_S bytes; ISAs the CPU lacks are skipped with the reason.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/quant/activation_quantizer.h"
#include "codegen/ref/ref_kernels.h"
#include "codegen/ref/ternary_ref.h"
#include "codegen/ternary/ternary_epilogue.h"
#include "codegen/ternary/ternary_gemm.h"
#include "codegen/ternary/ternary_gemv.h"
#include "codegen/ternary/ternary_layout.h"
#include "codegen/ternary/ternary_matmul.h"
#include "ir/base/error.h"
#include "tests/testing/isa.h"
#include "tests/testing/ternary_data.h"

namespace bitjit::codegen {
namespace {

constexpr int32_t kSentinel = bitjit::testing::kTernarySentinel;

}  // namespace

// Test names and failure messages print the packing by name.
void PrintTo(TernaryPacking packing, std::ostream* os) {
  *os << TernaryPackingName(packing);
}

namespace {

using bitjit::testing::RandomI2s;
using bitjit::testing::RandomQ;

std::vector<int32_t> Reference(const std::vector<uint8_t>& i2s, int64_t k, int64_t n,
                               const std::vector<int8_t>& q, int64_t n_tokens) {
  return bitjit::testing::ReferenceI32(i2s, k, n, q, n_tokens);
}

// Parameter: (ISA, packing). Skipped, naming what is missing, where the CPU cannot run it.
class TernaryIsaTest : public ::testing::TestWithParam<std::tuple<Isa, TernaryPacking>> {
 protected:
  void SetUp() override {
    try {
      ResolveIsa(isa());
    } catch (const Error& e) {
      GTEST_SKIP() << e.what();
    }
    if (!TernaryPackingSupported(isa(), packing())) GTEST_SKIP() << "this CPU lacks AVX512_VBMI";
  }
  Isa isa() const { return std::get<0>(GetParam()); }
  TernaryPacking packing() const { return std::get<1>(GetParam()); }
  TernaryTile tile(int rows = 0, int tokens = 0) const { return {rows, tokens, packing()}; }
};

// All rows of all tokens against the reference, bit for bit (padding untouched).
void ExpectMatchesReference(Isa isa, int64_t k, int64_t n, int64_t n_tokens, std::mt19937& rng,
                            TernaryTile tile) {
  bitjit::testing::ExpectTernaryMatchesReference(TernaryMatmul(k, n, isa, tile), n_tokens, rng);
}

TEST_P(TernaryIsaTest, MatchesReferenceOnModelAndEdgeShapes) {
  std::mt19937 rng(1234);
  // Model shapes (2560, 6912), multiples of the 128-value I2_S block, of the 16-k chunk or
  // 20-k block only, and K % 16, K % 20, K % 4 tails that exercise the partial last chunk
  // (block) and quad.
  const int64_t ks[] = {128, 256, 384, 2560, 6912, 4224, 192, 200, 64, 32, 16, 1,
                        2,   3,   5,   17,   130,  203,  19,  20,  21, 39, 40, 41};
  const int64_t ns[] = {1, 7, 13, 100};
  const int64_t tokens[] = {1, 2, 3, 7, 16, 33};
  for (int64_t k : ks) {
    for (int64_t n : ns) {
      for (int64_t t : tokens) {
        if (k * n * t > 8'000'000) continue;  // keep the scalar reference fast
        ExpectMatchesReference(isa(), k, n, t, rng, tile());
        if (HasFatalFailure()) return;
      }
    }
  }
}

// What only the generated kernels have (register tiles, two kernels, prefetch): the JIT ISAs.
class TernaryJitTest : public TernaryIsaTest {};

TEST_P(TernaryJitTest, MatchesReferenceWithEveryTileTheIsaOffers) {
  std::mt19937 rng(99);
  const int lanes = TernaryLanes(isa());
  for (int vecs : {1, 2, 4}) {
    for (int tokens : {1, 2, 3, 4, 5, 8, 12, 16}) {  // 12, 16: constants read from memory
      const TernaryTile t = tile(lanes * vecs, tokens);
      SCOPED_TRACE("tile " + std::to_string(t.rows) + "x" + std::to_string(t.tokens));
      try {
        ExpectMatchesReference(isa(), 200, 70, 11, rng, t);
        ExpectMatchesReference(isa(), 2560, 33, 1, rng, t);
      } catch (const Error& e) {
        // Tiles that need more registers than the ISA has are refused, never mis-generated.
        EXPECT_NE(std::string(e.what()).find("vector registers"), std::string::npos) << e.what();
      }
      if (HasFatalFailure()) return;
    }
  }
}

// Row sub-ranges, as the runtime uses to split rows across threads: exactly the rows asked
// for are written, whatever the alignment to the tile.
TEST_P(TernaryIsaTest, WritesExactlyTheRequestedRows) {
  std::mt19937 rng(7);
  for (int64_t k : {2560, 200, 35}) {
    for (int64_t n_tokens : {1, 5, 9}) {
      bitjit::testing::ExpectTernaryWritesExactlyTheRequestedRows(
          TernaryMatmul(k, 100, isa(), tile()), n_tokens, rng);
      if (HasFatalFailure()) return;
    }
  }
}

// The int16 paths sit exactly at their bound with codes 2 (w = +1) against q = -128: 64 pair
// sums of -512 make -32768. Also all -1 weights, and the largest K.
TEST_P(TernaryIsaTest, ExtremeValuesDoNotOverflow) {
  for (const uint8_t code : {uint8_t{2}, uint8_t{0}}) {
    for (const int8_t value : {int8_t{-128}, int8_t{127}}) {
      for (int64_t k : {int64_t{6912}, int64_t{1024}, kTernaryMaxK}) {
        const int64_t n = 20, n_tokens = 3;
        SCOPED_TRACE("code " + std::to_string(code) + " q " + std::to_string(value) + " K " +
                     std::to_string(k));
        std::vector<uint8_t> i2s(I2sCodeBytes(k * n), static_cast<uint8_t>(code * 0x55));
        std::vector<int8_t> q(static_cast<size_t>(k * n_tokens), value);
        const TernaryMatmul mm(k, n, isa(), tile());
        const TernaryPackedWeights w = mm.Pack(i2s.data(), 1.0f);
        std::vector<int32_t> out(static_cast<size_t>(n * n_tokens));
        for (int64_t t : {int64_t{1}, n_tokens}) {
          mm.RunI32(w, q.data(), t, 0, n, out.data());
          for (int64_t i = 0; i < n * t; ++i) {
            ASSERT_EQ(out[i], (code - 1) * value * k) << "output " << i;
          }
        }
      }
    }
  }
}

// Code 3 never occurs in files but must read as weight 0.
TEST_P(TernaryIsaTest, CodeThreeReadsAsZero) {
  const int64_t k = 2560, n = 40;
  std::vector<uint8_t> i2s(I2sCodeBytes(k * n), 0xFF);
  std::mt19937 rng(3);
  const std::vector<int8_t> q = RandomQ(k, 4, rng);
  const TernaryMatmul mm(k, n, isa(), tile());
  const TernaryPackedWeights w = mm.Pack(i2s.data(), 1.0f);
  std::vector<int32_t> out(static_cast<size_t>(n * 4), kSentinel);
  for (int64_t t : {1, 4}) {
    mm.RunI32(w, q.data(), t, 0, n, out.data());
    for (int64_t i = 0; i < n * t; ++i) ASSERT_EQ(out[i], 0) << "output " << i;
  }
}

// The fused float epilogue gives the bits of the scalar formula.
TEST_P(TernaryIsaTest, FloatEpilogueIsBitExact) {
  std::mt19937 rng(11);
  for (int64_t k : {2560, 203}) {
    for (int64_t n_tokens : {1, 6, 13}) {
      const int64_t n = 77;
      const bitjit::testing::TernaryFloatCase c =
          bitjit::testing::MakeTernaryFloatCase(k, n, n_tokens, rng);
      const float scale = 1.7182818f;

      const TernaryMatmul mm(k, n, isa(), tile());
      const TernaryPackedWeights w = mm.Pack(c.i2s.data(), scale);
      std::vector<float> y(static_cast<size_t>(n * n_tokens), -1.0f);
      mm.RunF32(w, c.q.data(), c.q_scale.data(), n_tokens, 2, n - 1, y.data());
      std::vector<float> want(y.size(), -1.0f);
      TernaryEpilogueRows(c.dot.data(), n, c.q_sum.data(), c.q_scale.data(), scale, n_tokens, 2,
                          n - 1, want.data(), n);
      for (size_t i = 0; i < y.size(); ++i) {
        uint32_t got_bits, want_bits;
        std::memcpy(&got_bits, &y[i], 4);
        std::memcpy(&want_bits, &want[i], 4);
        ASSERT_EQ(got_bits, want_bits) << "K " << k << " T " << n_tokens << " output " << i << ": "
                                       << y[i] << " vs " << want[i];
      }
    }
  }
}

// The whole BitLinear as the runtime will chain it (quantize, then the fused float
// epilogue) gives the reference chain's bits: ref::QuantizeRow, ref::TernaryMatmulI32,
// ref::TernaryEpilogue.
TEST_P(TernaryIsaTest, BitLinearChainMatchesTheReferenceChain) {
  std::mt19937 rng(41);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  for (int64_t k : {2560, 6912}) {
    for (int64_t n_tokens : {1, 9}) {
      const int64_t n = 50;
      std::vector<float> x(static_cast<size_t>(k * n_tokens));
      for (float& v : x) v = normal(rng);
      const std::vector<uint8_t> i2s = RandomI2s(k, n, rng);
      const float weight_scale = 0.7853f;

      std::vector<int8_t> want_q(x.size());
      std::vector<float> want_s(static_cast<size_t>(n_tokens));
      for (int64_t t = 0; t < n_tokens; ++t) {
        want_s[t] = ref::QuantizeRow(&x[t * k], k, &want_q[t * k]);
      }
      const std::vector<int32_t> dot = Reference(i2s, k, n, want_q, n_tokens);
      std::vector<float> want(static_cast<size_t>(n * n_tokens));
      ref::TernaryEpilogue(dot.data(), want_s.data(), weight_scale, n_tokens, n, want.data());

      std::vector<int8_t> q(x.size());
      std::vector<float> s(static_cast<size_t>(n_tokens));
      std::vector<int32_t> sums(static_cast<size_t>(n_tokens));
      ActivationQuantizer(k, isa()).Run(x.data(), n_tokens, q.data(), s.data(), sums.data());
      const TernaryMatmul mm(k, n, isa(), tile());
      const TernaryPackedWeights w = mm.Pack(i2s.data(), weight_scale);
      std::vector<float> y(want.size());
      mm.RunF32(w, q.data(), s.data(), n_tokens, 0, n, y.data(), 0, sums.data());
      for (size_t i = 0; i < y.size(); ++i) {
        ASSERT_EQ(std::memcmp(&y[i], &want[i], 4), 0)
            << "K " << k << " T " << n_tokens << " output " << i << ": " << y[i] << " vs "
            << want[i];
      }
    }
  }
}

// Activations that end right before an unmapped page: a kernel that reads past K faults.
TEST_P(TernaryIsaTest, ReadsNoActivationPastK) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* mem = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  ASSERT_EQ(mprotect(static_cast<uint8_t*>(mem) + page, page, PROT_NONE), 0);
  std::mt19937 rng(5);
  // 36, 37, 39: 1.6-bit tails ending in the last quad of a 20-k block (plane 4) or just before.
  for (int64_t k : {1, 2, 3, 5, 6, 7, 13, 29, 36, 37, 39, 203}) {
    for (int64_t n_tokens : {1, 3}) {
      const int64_t n = 9;
      SCOPED_TRACE("K=" + std::to_string(k) + " T=" + std::to_string(n_tokens));
      const std::vector<uint8_t> i2s = RandomI2s(k, n, rng);
      const std::vector<int8_t> q = RandomQ(k, n_tokens, rng);
      int8_t* guarded = static_cast<int8_t*>(mem) + page - q.size();
      std::memcpy(guarded, q.data(), q.size());
      const std::vector<int32_t> expected = Reference(i2s, k, n, q, n_tokens);
      const TernaryMatmul mm(k, n, isa(), tile());
      const TernaryPackedWeights w = mm.Pack(i2s.data(), 1.0f);
      std::vector<int32_t> out(static_cast<size_t>(n * n_tokens));
      mm.RunI32(w, guarded, n_tokens, 0, n, out.data());
      ASSERT_EQ(out, expected);
    }
  }
  munmap(mem, 2 * page);
}

// The front door sends one token to the GEMV kernel and more to the GEMM kernel; each kernel
// also handles the other case (the GEMV loops over tokens, the GEMM takes a single one).
TEST_P(TernaryJitTest, BothKernelsHandleAnyTokenCount) {
  std::mt19937 rng(13);
  const int64_t k = 203, n = 45;
  for (int64_t n_tokens : {1, 2, 5}) {
    const std::vector<uint8_t> i2s = RandomI2s(k, n, rng);
    const std::vector<int8_t> q = RandomQ(k, n_tokens, rng);
    const std::vector<int32_t> expected = Reference(i2s, k, n, q, n_tokens);
    std::vector<int32_t> sums(static_cast<size_t>(n_tokens));
    TernaryMatmul::ActivationSums(q.data(), k, n_tokens, sums.data());
    TernaryKernelParams p;
    p.k = k;
    p.isa = isa();
    p.tile_rows = DefaultTernaryTile(isa()).rows;
    p.tile_tokens = 3;
    p.packing = packing();
    const TernaryPackedWeights w =
        PackTernaryWeights(i2s.data(), k, n, 1.0f, p.tile_rows, packing());
    TernaryGemvKernel gemv(p);
    TernaryGemmKernel gemm(p);
    for (TernaryKernelBase* kernel :
         {static_cast<TernaryKernelBase*>(&gemv), static_cast<TernaryKernelBase*>(&gemm)}) {
      kernel->Create();
      std::vector<int32_t> out(expected.size(), kSentinel);
      TernaryKernelArgs args{};
      args.weights = w.data.get();
      args.q = q.data();
      args.q_sum = sums.data();
      args.out = out.data();
      args.ld_out = n;
      args.n_tokens = n_tokens;
      args.row_begin = 0;
      args.row_end = static_cast<int32_t>(n);
      kernel->fn()(&args);
      ASSERT_EQ(out, expected) << kernel->name() << " T " << n_tokens;
    }
  }
}

// Software prefetch ahead of the weight stream changes no result: the GEMV at every distance
// writes the reference's sums over a matrix longer than any distance, and a distance that is
// not whole cache lines is refused.
TEST_P(TernaryJitTest, GemvPrefetchDistanceLeavesTheSumsExact) {
  std::mt19937 rng(29);
  const int64_t k = 2560, n = 96;
  const std::vector<uint8_t> i2s = RandomI2s(k, n, rng);
  const std::vector<int8_t> q = RandomQ(k, 1, rng);
  const std::vector<int32_t> expected = Reference(i2s, k, n, q, 1);
  int32_t sum = 0;
  TernaryMatmul::ActivationSums(q.data(), k, 1, &sum);
  TernaryKernelParams p;
  p.k = k;
  p.isa = isa();
  p.tile_rows = DefaultTernaryTile(isa()).rows;
  p.packing = packing();
  const TernaryPackedWeights w = PackTernaryWeights(i2s.data(), k, n, 1.0f, p.tile_rows, packing());
  for (int distance : {64, 1536, 4096, 16384}) {
    p.prefetch_bytes = distance;
    TernaryGemvKernel gemv(p);
    gemv.Create();
    EXPECT_NE(gemv.name().find("_pf" + std::to_string(distance)), std::string::npos) << gemv.name();
    std::vector<int32_t> out(expected.size(), kSentinel);
    TernaryKernelArgs args{};
    args.weights = w.data.get();
    args.q = q.data();
    args.q_sum = &sum;
    args.out = out.data();
    args.ld_out = n;
    args.n_tokens = 1;
    args.row_begin = 0;
    args.row_end = static_cast<int32_t>(n);
    gemv.fn()(&args);
    ASSERT_EQ(out, expected) << gemv.name();
  }
  for (int bad : {100, -64, 2 << 20}) {
    p.prefetch_bytes = bad;
    EXPECT_THROW({ TernaryGemvKernel gemv(p); }, Error) << bad;
  }
}

std::string ParamName(const ::testing::TestParamInfo<TernaryIsaTest::ParamType>& info) {
  const bool base3 = std::get<1>(info.param) == TernaryPacking::k1p6Bit;
  return std::string(IsaName(std::get<0>(info.param))) + (base3 ? "_1p6bit" : "_2bit");
}

INSTANTIATE_TEST_SUITE_P(AllIsas2Bit, TernaryIsaTest,
                         ::testing::Combine(::testing::ValuesIn(bitjit::testing::kAllIsas),
                                            ::testing::Values(TernaryPacking::k2Bit)),
                         ParamName);
INSTANTIATE_TEST_SUITE_P(Isas1p6Bit, TernaryIsaTest,
                         ::testing::Combine(::testing::Values(Isa::kRef, Isa::kAvx2,
                                                              Isa::kAvx512Vnni, Isa::kAvx512Amx),
                                            ::testing::Values(TernaryPacking::k1p6Bit)),
                         ParamName);
INSTANTIATE_TEST_SUITE_P(JitIsas2Bit, TernaryJitTest,
                         ::testing::Combine(::testing::ValuesIn(bitjit::testing::kJitIsas),
                                            ::testing::Values(TernaryPacking::k2Bit)),
                         ParamName);
INSTANTIATE_TEST_SUITE_P(JitIsas1p6Bit, TernaryJitTest,
                         ::testing::Combine(::testing::Values(Isa::kAvx2, Isa::kAvx512Vnni,
                                                              Isa::kAvx512Amx),
                                            ::testing::Values(TernaryPacking::k1p6Bit)),
                         ParamName);

// The other ISAs have no 1.6-bit kernels and say so, rather than run the wrong unpack.
TEST(TernaryPacking, OtherIsasRefuse1p6Bit) {
  EXPECT_TRUE(TernaryPackingSupported(Isa::kAvx2, TernaryPacking::k1p6Bit));
  for (Isa isa : {Isa::kAvx512, Isa::kAvxVnni}) {
    EXPECT_FALSE(TernaryPackingSupported(isa, TernaryPacking::k1p6Bit)) << isa;
    if (!IsaSupported(isa)) continue;  // the constructor would refuse the ISA itself
    try {
      TernaryMatmul mm(64, 8, isa, {0, 0, TernaryPacking::k1p6Bit});
      ADD_FAILURE() << isa << " accepted 1.6-bit weights";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("AVX512_VBMI"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(TernaryPackingSupported(Isa::kAvx512Vnni, TernaryPacking::k1p6Bit), HasAvx512Vbmi());
  EXPECT_EQ(ParseTernaryPacking("1.6bit"), TernaryPacking::k1p6Bit);
  EXPECT_EQ(ParseTernaryPacking(TernaryPackingName(TernaryPacking::k2Bit)), TernaryPacking::k2Bit);
  EXPECT_THROW(ParseTernaryPacking("1.58bit"), Error);
}

// Every base-3 byte decodes to its five codes, and the kernels' tables agree with the code.
TEST(TernaryPacking, Base3BytesAndTablesRoundTrip) {
  const Base3Tables& t = TernaryBase3Tables();
  int seen = 0;
  for (int v = 0; v < 243; ++v) {
    const uint8_t codes[5] = {static_cast<uint8_t>(v % 3), static_cast<uint8_t>(v / 3 % 3),
                              static_cast<uint8_t>(v / 9 % 3), static_cast<uint8_t>(v / 27 % 3),
                              static_cast<uint8_t>(v / 81)};
    const uint8_t byte = EncodeBase3(codes);
    uint8_t back[5];
    DecodeBase3(byte, back);
    for (int j = 0; j < 5; ++j) ASSERT_EQ(back[j], codes[j]) << "v " << v << " digit " << j;
    // What the kernels do: band and c_4 from byte >> 2, then c_0..c_3 from byte - band.
    const int x = byte >> 2;
    ASSERT_EQ(t.top[x], codes[4]) << "byte " << int{byte};
    ASSERT_EQ(t.band[x], kTernaryBase3Band * codes[4]) << "byte " << int{byte};
    const int r = byte - t.band[x];
    ASSERT_LT(r, 128);
    ASSERT_EQ(t.low[r], codes[0] | codes[1] << 2 | codes[2] << 4 | codes[3] << 6) << "r " << r;
    ++seen;
  }
  EXPECT_EQ(seen, 243);
  const uint8_t zeros[5] = {0, 0, 0, 0, 0};
  EXPECT_EQ(EncodeBase3(zeros), 0);  // zero-filled padding holds code 0 in all five places
}

// The packed layout holds the I2_S weights (code 3 as 0) and zero-weight padding.
TEST(TernaryLayout, RepacksEveryWeight) {
  std::mt19937 rng(21);
  for (int64_t k : {128, 200, 17, 6912}) {
    for (int64_t n : {1, 13, 40}) {
      for (int rows : {8, 16, 32, 64}) {
        for (TernaryPacking packing : {TernaryPacking::k2Bit, TernaryPacking::k1p6Bit}) {
          const std::vector<uint8_t> i2s = RandomI2s(k, n, rng);
          const TernaryPackedWeights w = PackTernaryWeights(i2s.data(), k, n, 0.25f, rows, packing);
          const int block_k = TernaryBlockK(packing);
          ASSERT_EQ(w.scale, 0.25f);
          ASSERT_EQ(w.n_chunks, (k + block_k - 1) / block_k);
          ASSERT_EQ(w.bytes, static_cast<size_t>(w.n_tiles * w.n_chunks * 4 * rows));
          ASSERT_EQ(w.bytes, TernaryPackedBytes(k, n, rows, packing));
          ASSERT_EQ(reinterpret_cast<uintptr_t>(w.data.get()) % 64, 0u);
          for (int64_t r = 0; r < w.n_tiles * rows; ++r) {
            for (int64_t c = 0; c < w.n_chunks * block_k; ++c) {
              const int want = r < n && c < k ? ref::I2sWeight(i2s.data(), r * k + c) : -1;
              ASSERT_EQ(PackedTernaryWeight(w, r, c), want)
                  << TernaryPackingName(packing) << " K " << k << " N " << n << " R " << rows
                  << " row " << r << " k " << c;
            }
          }
        }
      }
    }
  }
}

// Row ranges own whole bytes: packing the rows in pieces, cut inside tiles or on their edges and
// in any order (as the loaders' threads do), leaves the same bytes as packing them at once.
TEST(TernaryLayout, AnySplitOfTheRowsPacksTheSameBytes) {
  std::mt19937 rng(5);
  for (TernaryPacking packing : {TernaryPacking::k2Bit, TernaryPacking::k1p6Bit}) {
    for (int rows : {8, 32}) {
      const int64_t k = 320, n = 77;
      const std::vector<uint8_t> i2s = RandomI2s(k, n, rng);
      const TernaryPackedWeights whole = PackTernaryWeights(i2s.data(), k, n, 1.0f, rows, packing);
      for (int trial = 0; trial < 8; ++trial) {
        std::vector<int64_t> cuts = {0, n};
        for (int c = 0; c < 5; ++c)
          cuts.push_back(std::uniform_int_distribution<int64_t>(0, n)(rng));
        if (trial == 0) cuts = {0, rows, 2 * rows, n};  // tile edges only
        std::sort(cuts.begin(), cuts.end());
        std::vector<int> order(cuts.size() - 1);
        for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
        std::shuffle(order.begin(), order.end(), rng);
        TernaryPackedWeights pieces = AllocateTernaryPacked(k, n, rows, 1.0f, nullptr, packing);
        for (int i : order) PackTernaryRows(i2s.data(), cuts[i], cuts[i + 1], &pieces);
        ASSERT_EQ(std::memcmp(pieces.data.get(), whole.data.get(), whole.bytes), 0)
            << TernaryPackingName(packing) << " R " << rows << " trial " << trial;
      }
    }
  }
}

// A range writes its own rows' bytes and no other row's, even where it shares a tile: the bytes
// of every other row keep what was there.
TEST(TernaryLayout, ARowRangeWritesOnlyItsRows) {
  std::mt19937 rng(6);
  const int64_t k = 320, n = 77;
  for (TernaryPacking packing : {TernaryPacking::k2Bit, TernaryPacking::k1p6Bit}) {
    const int rows = 16;
    const std::vector<uint8_t> i2s = RandomI2s(k, n, rng);
    const TernaryPackedWeights whole = PackTernaryWeights(i2s.data(), k, n, 1.0f, rows, packing);
    for (const auto& [begin, end] : std::vector<std::pair<int64_t, int64_t>>{
             {0, 5}, {16, 20}, {3, 16}, {5, 40}, {32, 48}, {60, 77}, {64, 77}}) {
      TernaryPackedWeights w = AllocateTernaryPacked(k, n, rows, 1.0f, nullptr, packing);
      std::memset(w.data.get(), 0xaa, w.bytes);
      PackTernaryRows(i2s.data(), begin, end, &w);
      for (int64_t r = 0; r < n; ++r) {
        for (int64_t c = 0; c < w.n_chunks; ++c) {
          const size_t at = (r / rows) * w.tile_bytes() + c * 4 * rows + 4 * (r % rows);
          const bool mine = r >= begin && r < end;
          for (int b = 0; b < 4; ++b) {
            ASSERT_EQ(w.data[at + b], mine ? whole.data[at + b] : 0xaa)
                << TernaryPackingName(packing) << " rows [" << begin << ", " << end << ") row " << r
                << " chunk " << c;
          }
        }
      }
    }
  }
}

TEST(TernaryLayout, RejectsBadDimensions) {
  EXPECT_THROW(AllocateTernaryPacked(0, 8, 16, 1.0f), Error);
  EXPECT_THROW(AllocateTernaryPacked(kTernaryMaxK + 1, 8, 16, 1.0f), Error);
  EXPECT_THROW(AllocateTernaryPacked(64, 0, 16, 1.0f), Error);
  EXPECT_THROW(AllocateTernaryPacked(64, 8, 12, 1.0f), Error);
  EXPECT_THROW(AllocateTernaryPacked(64, 8, 128, 1.0f), Error);
}

TEST(TernaryMatmulFrontDoor, RejectsMismatchedWeightsAndRows) {
  const TernaryMatmul mm(64, 8, Isa::kRef);
  const TernaryPackedWeights other = AllocateTernaryPacked(128, 8, 16, 1.0f);
  const TernaryPackedWeights w = AllocateTernaryPacked(64, 8, 16, 1.0f);
  std::vector<int8_t> q(64);
  std::vector<int32_t> out(8);
  EXPECT_THROW(mm.RunI32(other, q.data(), 1, 0, 8, out.data()), Error);
  const TernaryPackedWeights dense =
      AllocateTernaryPacked(64, 8, 16, 1.0f, nullptr, TernaryPacking::k1p6Bit);
  EXPECT_THROW(mm.RunI32(dense, q.data(), 1, 0, 8, out.data()), Error);  // packed otherwise
  EXPECT_THROW(mm.RunI32(w, q.data(), 1, 0, 9, out.data()), Error);
  EXPECT_THROW(mm.RunI32(w, q.data(), 1, 5, 4, out.data()), Error);
  EXPECT_NO_THROW(mm.RunI32(w, q.data(), 1, 0, 8, out.data()));
}

}  // namespace
}  // namespace bitjit::codegen
