// The f16-cache attention kernels for one kv head's group of queries, as a prompt of the 2B-4T
// shape runs them (head_dim 128, 4 query heads per kv head): the one-head AVX2 kernel four
// times, against the AVX-512 block kernel once. Arguments: n_kv, round_q (ggml's KQ, as
// bitnet.cpp's prompts with more than one head), round_p (ggml's P.V, decode).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/simd/attention_f16.h"
#include "codegen/simd/attention_f16_block.h"
#include "ir/base/half.h"

namespace bitjit::kernels {
namespace {

constexpr int kHeadDim = 128, kGroup = 4, kKvHeads = 5;

struct Inputs {
  std::vector<uint16_t> k, v;
  std::vector<float> q, out;
  explicit Inputs(int64_t n_kv) {
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t width = int64_t{kKvHeads} * kHeadDim;
    k.resize(n_kv * width);
    v.resize(n_kv * width);
    for (auto& h : k) h = FloatToHalf(normal(rng));
    for (auto& h : v) h = FloatToHalf(normal(rng));
    q.resize(kGroup * kHeadDim);
    for (float& x : q) x = normal(rng);
    out.resize(q.size());
  }
};

void BM_HeadAvx2(benchmark::State& state) {
  const int64_t n_kv = state.range(0);
  const bool round_q = state.range(1) != 0, round_p = state.range(2) != 0;
  Inputs in(n_kv);
  std::vector<float> scratch(AttentionScratchFloats(kHeadDim, n_kv));
  for (auto _ : state) {
    for (int h = 0; h < kGroup; ++h) {
      AttentionHeadF16Avx2(&in.q[h * kHeadDim], in.k.data(), in.v.data(), kKvHeads * kHeadDim, 0,
                           n_kv, kHeadDim, round_q, round_p, scratch.data(), &in.out[h * kHeadDim]);
    }
    benchmark::DoNotOptimize(in.out.data());
  }
  state.SetItemsProcessed(state.iterations() * kGroup * n_kv);
}

void BM_BlockAvx512(benchmark::State& state) {
  if (!codegen::IsaSupported(codegen::Isa::kAvx512)) {
    state.SkipWithError("this CPU lacks AVX-512");
    return;
  }
  const int64_t n_kv = state.range(0);
  const bool round_q = state.range(1) != 0, round_p = state.range(2) != 0;
  Inputs in(n_kv);
  std::vector<float> scratch(AttentionBlockScratchFloats(kHeadDim, n_kv));
  AttentionQuery queries[kGroup];
  for (int h = 0; h < kGroup; ++h) queries[h] = {&in.q[h * kHeadDim], &in.out[h * kHeadDim], n_kv};
  for (auto _ : state) {
    AttentionBlockF16Avx512(queries, kGroup, in.k.data(), in.v.data(), kKvHeads * kHeadDim, 0,
                            kHeadDim, round_q, round_p, scratch.data());
    benchmark::DoNotOptimize(in.out.data());
  }
  state.SetItemsProcessed(state.iterations() * kGroup * n_kv);
}

// Items: query-position pairs.
#define BITJIT_ATTENTION_ARGS ArgsProduct({{64, 256, 1024}, {1}, {0, 1}})
BENCHMARK(BM_HeadAvx2)->BITJIT_ATTENTION_ARGS;
BENCHMARK(BM_BlockAvx512)->BITJIT_ATTENTION_ARGS;

}  // namespace
}  // namespace bitjit::kernels

BENCHMARK_MAIN();
