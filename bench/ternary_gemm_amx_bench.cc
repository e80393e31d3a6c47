// The AMX-INT8 ternary GEMM against the avx512vnni GEMM it replaces for prefill, at
// bitnet-b1.58-2B-4T shapes, over token counts from 2 to 512: the crossover below which
// TernaryMatmul keeps the VNNI kernels (kTernaryAmxMinTokens) and the prefill speed-up.
// GOPS = 2*K*N*T per second. Weights stay cache-warm (each call reuses them over all tokens,
// as prefill does). Skipped where the CPU or the OS has no AMX.
// Run: build/bench/ternary_gemm_amx_bench --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/ternary/ternary_layout.h"
#include "codegen/ternary/ternary_matmul.h"

namespace bitjit::codegen {
namespace {

struct Shape {
  const char* what;
  int64_t k, n;
};
constexpr Shape kShapes[] = {
    {"attn_q", 2560, 2560}, {"ffn_up", 2560, 6912}, {"ffn_down", 6912, 2560}};

void BM_Gemm(benchmark::State& state, Isa isa, TernaryPacking packing, Shape shape,
             int64_t n_tokens) {
  std::mt19937 rng(42);
  std::vector<uint8_t> i2s(I2sCodeBytes(shape.k * shape.n));
  for (uint8_t& b : i2s) b = static_cast<uint8_t>(rng() % 3 * 0x55);
  std::vector<int8_t> q(static_cast<size_t>(shape.k * n_tokens));
  for (int8_t& v : q) v = static_cast<int8_t>(rng());
  std::vector<float> s(static_cast<size_t>(n_tokens), 3.0f);
  TernaryMatmul mm(shape.k, shape.n, isa, {0, 0, packing});
  mm.set_amx_min_tokens(1);  // avx512amx: the AMX GEMM at every count, to find the crossover
  const TernaryPackedWeights w = mm.Pack(i2s.data(), 1.0f);
  std::vector<int32_t> sums(static_cast<size_t>(n_tokens));
  TernaryMatmul::ActivationSums(q.data(), shape.k, n_tokens, sums.data());
  std::vector<float> y(static_cast<size_t>(shape.n * n_tokens));
  for (auto _ : state) {
    mm.RunF32(w, q.data(), s.data(), n_tokens, 0, shape.n, y.data(), 0, sums.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GOPS"] =
      benchmark::Counter(2.0 * static_cast<double>(shape.k * shape.n * n_tokens) *
                             static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void RegisterAll() {
  if (!IsaSupported(Isa::kAvx512Amx)) return;  // nothing to compare against
  for (TernaryPacking packing : {TernaryPacking::k1p6Bit, TernaryPacking::k2Bit}) {
    if (!TernaryPackingSupported(Isa::kAvx512Amx, packing)) continue;
    for (const Shape& shape : kShapes) {
      for (int64_t tokens : {2, 4, 8, 12, 16, 24, 32, 64, 128, 512}) {
        for (Isa isa : {Isa::kAvx512Vnni, Isa::kAvx512Amx}) {
          const std::string name = "TernaryGemm/" + std::string(IsaName(isa)) + "_" +
                                   TernaryPackingName(packing) + "/" + shape.what + "/K" +
                                   std::to_string(shape.k) + "xN" + std::to_string(shape.n) + "/T" +
                                   std::to_string(tokens);
          benchmark::RegisterBenchmark(name.c_str(), BM_Gemm, isa, packing, shape, tokens)
              ->Unit(benchmark::kMicrosecond)
              ->UseRealTime();
        }
      }
    }
  }
}

}  // namespace
}  // namespace bitjit::codegen

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  bitjit::codegen::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
