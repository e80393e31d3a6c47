// The compiled path's attention over an f16 KV cache is bit-identical to the reference row
// kernel, which defines bitnet.cpp's roundings and order of additions; and the order
// primitives themselves (codegen/ref/ggml_float_order.h) add in the order they promise.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/ref/ggml_float_order.h"
#include "codegen/ref/ref_kernels.h"
#include "codegen/simd/attention_f16.h"
#include "codegen/simd/attention_f16_block.h"
#include "ir/base/half.h"

namespace bitjit::kernels {
namespace {

// Values whose sum depends on the order: 2^24 swallows a lone 1 but not a pair of them.
TEST(GgmlFloatOrder, ReduceAdd16HalvesTheLanes) {
  float lanes[16] = {};
  lanes[0] = 16777216.0f;  // 2^24
  lanes[8] = 1.0f;         // added to lane 0 first: 2^24 + 1 rounds to 2^24
  lanes[1] = 1.0f;
  lanes[9] = 1.0f;  // lane 1 + lane 9 = 2 first, then 2^24 + 2 is exact
  EXPECT_EQ(ref::ReduceAdd16(lanes), 16777218.0f);
}

TEST(GgmlFloatOrder, GgmlDotF16AddsItsTailInDouble) {
  // 64 elements in the block, 2 in the tail: the tail's ones survive only in double.
  std::vector<float> x(66, 0.0f), y(66, 1.0f);
  x[0] = 16777216.0f;  // 2^24
  x[64] = 1.0f;
  x[65] = 1.0f;
  EXPECT_EQ(ref::GgmlDotF16(x.data(), y.data(), 66), 16777218.0f);
}

TEST(GgmlFloatOrder, GgmlDotF16AddsItsFourAccumulatorsInPairs) {
  // Element 16 (accumulator 1) and 48 (accumulator 3) meet before accumulator 0 + 2.
  std::vector<float> a(64, 0.0f), ones(64, 1.0f);
  a[0] = 16777216.0f;
  a[16] = 1.0f;
  a[48] = 1.0f;
  EXPECT_EQ(ref::GgmlDotF16(a.data(), ones.data(), 64), 16777218.0f);
}

TEST(GgmlFloatOrder, TinyBlasLanesAccumulateInOrder) {
  // Lane 1 gets elements 1 and 17 (2 together); one after another they would vanish in 2^24.
  std::vector<float> a(48, 0.0f), b(48, 1.0f);
  a[0] = 16777216.0f;
  a[1] = 1.0f;
  a[17] = 1.0f;
  EXPECT_EQ(ref::TinyBlasDot16(a.data(), b.data(), 48), 16777218.0f);
  // Lane 0 gets 0, 16 and 32 in order: 2^24 + 1 rounds to 2^24, twice.
  a[1] = a[17] = 0.0f;
  a[16] = a[32] = 1.0f;
  EXPECT_EQ(ref::TinyBlasDot16(a.data(), b.data(), 48), 16777216.0f);
}

TEST(GgmlFloatOrder, ExpfIsGgmlsPolynomial) {
  EXPECT_EQ(ref::GgmlExpf(0.0f), 1.0f);
  EXPECT_EQ(ref::GgmlExpf(-INFINITY), 0.0f);
  EXPECT_EQ(ref::GgmlExpf(-200.0f), 0.0f);
  EXPECT_TRUE(std::isnan(ref::GgmlExpf(NAN)));
  // Within a few ulp of exp everywhere, and subnormal below -87.3 (not flushed to zero).
  for (float x = -104.0f; x <= 0.0f; x += 0.37f) {
    const double want = std::exp(static_cast<double>(x));
    EXPECT_NEAR(ref::GgmlExpf(x), want, 4e-7 * want + 1e-45) << x;
  }
  EXPECT_GT(ref::GgmlExpf(-100.0f), 0.0f);
  EXPECT_EQ(ref::GgmlExpf(-105.5f), 0.0f);  // the softmax kernels' cut-off is exact
}

TEST(GgmlFloatOrder, PaddedKvIsLlamaCppsMultipleOf32) {
  EXPECT_EQ(ref::GgmlPaddedKv(1), 32);
  EXPECT_EQ(ref::GgmlPaddedKv(32), 32);
  EXPECT_EQ(ref::GgmlPaddedKv(33), 64);
  EXPECT_EQ(ref::GgmlPaddedKv(100), 128);
}

TEST(BitnetAttentionParams, QStaysF32OnlyForTinyBlasContiguousPrompt) {
  EXPECT_FALSE(ref::BitnetAttentionParams(1, 1, 128, /*decode=*/false).round_q);
  EXPECT_TRUE(ref::BitnetAttentionParams(1, 1, 100, false).round_q);  // tinyBLAS needs 16 | D
  EXPECT_TRUE(ref::BitnetAttentionParams(1, 1, 128, /*decode=*/true).round_q);
  EXPECT_TRUE(ref::BitnetAttentionParams(8, 8, 64, false).round_q);
  EXPECT_FALSE(ref::BitnetAttentionParams(8, 8, 64, false).round_p);
  EXPECT_TRUE(ref::BitnetAttentionParams(8, 8, 64, true).round_p);
}

struct Case {
  int n_head, n_head_kv, head_dim;
  int64_t n_kv;
  float q_scale;  // large: scores far apart, most softmax weights underflow to exactly 0
};

// n_kv across ggml's block edges (32, 64, 96, 128) and head_dims with and without tails.
const std::vector<Case> kCases = {
    Case{20, 5, 128, 1, 1.0f},  Case{20, 5, 128, 77, 1.0f}, Case{8, 2, 64, 300, 1.0f},
    Case{8, 8, 64, 20, 8.0f},   Case{6, 1, 32, 40, 60.0f},  Case{16, 2, 16, 9, 1.0f},
    Case{15, 5, 24, 33, 1.0f},  Case{7, 1, 8, 12, 30.0f},   Case{4, 4, 100, 63, 1.0f},
    Case{4, 4, 100, 65, 0.2f},  Case{2, 2, 96, 97, 1.0f},   Case{2, 1, 256, 129, 1.0f},
    Case{1, 1, 128, 128, 0.3f}, Case{1, 1, 100, 31, 1.0f},  Case{3, 3, 40, 32, 0.1f},
    Case{2, 2, 8, 1001, 0.05f}, Case{12, 4, 40, 3, 1.0f},   Case{32, 4, 128, 200, 1.0f}};

// A case's random f16 cache (K and V rows of all kv heads) and f32 queries of all heads.
struct CaseData {
  int64_t kv_width;
  std::vector<uint16_t> k, v;
  std::vector<float> q;
  CaseData(const Case& c, std::mt19937& rng) : kv_width(int64_t{c.n_head_kv} * c.head_dim) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    k.resize(c.n_kv * kv_width);
    v.resize(c.n_kv * kv_width);
    for (auto& h : k) h = FloatToHalf(normal(rng));
    for (auto& h : v) h = FloatToHalf(normal(rng));
    q.resize(int64_t{c.n_head} * c.head_dim);
    for (float& x : q) x = normal(rng) * c.q_scale;
  }
};

std::string Describe(const Case& c, bool round_q, bool round_p) {
  return "heads " + std::to_string(c.n_head) + "/" + std::to_string(c.n_head_kv) + " dim " +
         std::to_string(c.head_dim) + " n_kv " + std::to_string(c.n_kv) + " round_q " +
         std::to_string(round_q) + " round_p " + std::to_string(round_p);
}

TEST(AttentionF16, KernelIsBitIdenticalToTheReference) {
  if (!codegen::IsaSupported(codegen::Isa::kAvx2)) GTEST_SKIP() << "this CPU lacks AVX2";
  std::mt19937 rng(5);
  for (const Case& c : kCases) {
    const CaseData data(c, rng);
    const int group = c.n_head / c.n_head_kv;
    const int64_t kv_width = data.kv_width;
    const std::vector<uint16_t>&k = data.k, &v = data.v;
    const std::vector<float>& q = data.q;
    std::vector<float> scratch(AttentionScratchFloats(c.head_dim, c.n_kv));
    std::vector<float> ref_scratch(c.n_kv);
    for (bool round_q : {false, true}) {
      for (bool round_p : {false, true}) {
        SCOPED_TRACE(Describe(c, round_q, round_p));
        std::vector<float> got(q.size()), want(q.size());
        for (int h = 0; h < c.n_head; ++h) {
          AttentionHeadF16Avx2(&q[h * c.head_dim], k.data(), v.data(), kv_width,
                               int64_t{h / group} * c.head_dim, c.n_kv, c.head_dim, round_q,
                               round_p, scratch.data(), &got[h * c.head_dim]);
        }
        const ref::AttentionParams p{c.n_head, c.n_head_kv, c.head_dim, round_q, round_p};
        ref::AttentionRowF16Cache(q.data(), k.data(), v.data(), c.n_kv, p, ref_scratch.data(),
                                  want.data());
        for (size_t i = 0; i < q.size(); ++i) {
          ASSERT_EQ(std::memcmp(&got[i], &want[i], 4), 0)
              << i << ": " << got[i] << " vs " << want[i];
        }
      }
    }
  }
}

// The block kernel, every query against the reference row of its own head and n_kv: blocks of
// 1-4 heads of one GQA group at one position (decode and prompt), and blocks whose queries end
// at different positions, as consecutive prompt tokens do (tinyBLAS P.V only).
TEST(AttentionF16, BlockKernelIsBitIdenticalToTheReference) {
  if (!codegen::IsaSupported(codegen::Isa::kAvx512)) GTEST_SKIP() << "this CPU lacks AVX-512";
  std::mt19937 rng(9);
  for (const Case& c : kCases) {
    const CaseData data(c, rng);
    const int group = c.n_head / c.n_head_kv;
    const int64_t kv_width = data.kv_width;
    const std::vector<uint16_t>&k = data.k, &v = data.v;
    const std::vector<float>& q = data.q;
    std::vector<float> scratch(AttentionBlockScratchFloats(c.head_dim, c.n_kv));
    std::vector<float> ref_scratch(c.n_kv);
    for (bool round_q : {false, true}) {
      for (bool round_p : {false, true}) {
        // want[n - 1]: every head's reference output attending to n positions.
        const ref::AttentionParams p{c.n_head, c.n_head_kv, c.head_dim, round_q, round_p};
        std::vector<std::vector<float>> want(c.n_kv);
        for (int64_t n = std::max<int64_t>(1, c.n_kv - 3); n <= c.n_kv; ++n) {
          want[n - 1].resize(q.size());
          ref::AttentionRowF16Cache(q.data(), k.data(), v.data(), n, p, ref_scratch.data(),
                                    want[n - 1].data());
        }
        for (int block = 1; block <= kAttentionBlockQueries; ++block) {
          for (bool staggered : {false, true}) {
            if (staggered && round_p) continue;  // ggml's P.V: one n_kv per block
            SCOPED_TRACE(Describe(c, round_q, round_p) + " block " + std::to_string(block) +
                         " staggered " + std::to_string(staggered));
            for (int g = 0; g < c.n_head_kv; ++g) {
              // Query x: head g * group + x % group, ending at n_kv - x when staggered.
              std::vector<AttentionQuery> queries;
              std::vector<std::vector<float>> got(block, std::vector<float>(c.head_dim));
              std::vector<int> heads;
              for (int x = 0; x < block; ++x) {
                const int64_t n = staggered ? c.n_kv - x : c.n_kv;
                if (n < 1 || (!staggered && x >= group)) break;
                heads.push_back(g * group + x % group);
                queries.push_back({&q[heads.back() * c.head_dim], got[x].data(), n});
              }
              AttentionBlockF16Avx512(queries.data(), static_cast<int>(queries.size()), k.data(),
                                      v.data(), kv_width, int64_t{g} * c.head_dim, c.head_dim,
                                      round_q, round_p, scratch.data());
              for (size_t x = 0; x < queries.size(); ++x) {
                const float* w = &want[queries[x].n_kv - 1][heads[x] * c.head_dim];
                for (int i = 0; i < c.head_dim; ++i) {
                  ASSERT_EQ(std::memcmp(&got[x][i], &w[i], 4), 0)
                      << "query " << x << " dim " << i << ": " << got[x][i] << " vs " << w[i];
                }
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace bitjit::kernels
