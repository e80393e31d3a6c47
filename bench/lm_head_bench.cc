// The tied lm_head GEMV of bitnet-b1.58-2B-4T (n_embd 2560) in its three forms: F16 (the default),
// Q8_0 and Q6_K (--lm-head), one token's logits per iteration, the vocabulary split over a thread
// pool as the JIT executor splits it. With 32768 rows the tables (69-168 MB) are far larger than
// the caches, so every iteration streams its table from DRAM as decode does; with 2048 rows (4-10
// MB) they stay in the L3 cache, which shows the compute rate. bytes_per_second is the table's
// bytes. Quant contents are random (the speed does not depend on them).
// Run: ./build/bench/lm_head_bench --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/f16_gemv.h"
#include "codegen/lmhead/q6k_format.h"
#include "codegen/lmhead/q6k_gemv.h"
#include "codegen/lmhead/q8_0_gemv.h"
#include "codegen/memory/weight_memory.h"
#include "ir/base/half.h"
#include "runtime/thread_pool.h"

namespace bitjit::codegen {
namespace {

constexpr int64_t kN = 2560;

struct Free {
  void operator()(uint8_t* p) const { std::free(p); }
};

// Random bytes in weight memory (huge pages, as the runtime keeps its lm_head tables), with
// every block's f16 scale (at `scale_offset` of each `block_bytes`) set to a small finite value.
std::shared_ptr<uint8_t[]> RandomTable(size_t bytes, size_t block_bytes, size_t scale_offset) {
  std::shared_ptr<uint8_t[]> table = AllocateWeightMemory(bytes + 64);
  uint8_t* p = table.get();
  std::mt19937_64 rng(7);
  for (size_t i = 0; i + 8 <= bytes; i += 8) {
    const uint64_t r = rng();
    std::memcpy(p + i, &r, 8);
  }
  const uint16_t d = FloatToHalf(0.01f);
  if (block_bytes > 0)
    for (size_t b = 0; b + block_bytes <= bytes; b += block_bytes)
      std::memcpy(p + b + scale_offset, &d, 2);
  return table;
}

std::vector<float> Input() {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(kN);
  for (float& v : x) v = normal(rng);
  return x;
}

// Runs `rows(v0, v1, out)` over the vocabulary in 16 chunks per thread, each a whole number of
// `granule` rows (the F16 kernel's row tiles), as RunLmHead does.
template <typename Rows>
void Split(ThreadPool& pool, int64_t vocab, float* out, Rows&& rows, int64_t granule = 1) {
  const int64_t units = (vocab + granule - 1) / granule;
  const int64_t chunks = std::min(units, 16 * int64_t{pool.n_threads()});
  pool.ParallelFor(chunks, [&](int64_t c, int) {
    rows(std::min(vocab, units * c / chunks * granule),
         std::min(vocab, units * (c + 1) / chunks * granule), out);
  });
}

// One token's logits per iteration through a quantized table's GEMV (Q8_0Gemv or Q6KGemv):
// the input row prepared, then every row of `table`.
void RunQuantized(benchmark::State& state, ThreadPool& pool, const QuantizedGemv& gemv,
                  const uint8_t* table, int64_t vocab, size_t table_bytes) {
  const auto x = Input();
  std::vector<float> out(vocab);
  auto input = std::unique_ptr<uint8_t, Free>(
      static_cast<uint8_t*>(std::aligned_alloc(64, (gemv.InputBytes() + 63) / 64 * 64)));
  for (auto _ : state) {
    gemv.PrepareInput(x.data(), input.get());
    Split(pool, vocab, out.data(),
          [&](int64_t v0, int64_t v1, float* o) { gemv.Run(table, input.get(), v0, v1, o); });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(table_bytes));
}

// Args: threads, rows, the kernel's prefetch distance in bytes (-1: its default), and the ISA
// (0: the best this CPU has, 1: avx2, as on a CPU without AVX-512).
void BM_F16(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  const int64_t kVocab = state.range(1);
  const Isa isa = state.range(3) == 1 ? Isa::kAvx2 : BestIsa();
  if (!IsaSupported(isa)) {
    state.SkipWithError("this CPU has no AVX2");
    return;
  }
  const F16Gemv gemv(kN, isa,
                     state.range(2) >= 0 ? std::optional<int>(state.range(2)) : std::nullopt);
  state.SetLabel(gemv.KernelName());
  auto table = RandomTable(kVocab * kN * 2, 0, 0);
  // Finite halves: clear the exponent's top bit of every value.
  auto* h = reinterpret_cast<uint16_t*>(table.get());
  for (int64_t i = 0; i < kVocab * kN; ++i) h[i] &= 0xBFFF;
  F16TiledTable tiles = gemv.Allocate(kVocab);
  gemv.PackTiles(h, 0, tiles.n_tiles, &tiles);
  table.reset();
  const auto x = Input();
  std::vector<float> out(kVocab);
  for (auto _ : state) {
    std::vector<float> xr(kN);  // the one-row input rounded to f16, as the executor does
    for (int64_t i = 0; i < kN; ++i) xr[i] = RoundToHalf(x[i]);
    Split(
        pool, kVocab, out.data(),
        [&](int64_t v0, int64_t v1, float* o) { gemv.Run(tiles, xr.data(), false, v0, v1, o); },
        gemv.tile_rows());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kVocab * kN * 2);
}

void BM_Q8_0(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  const int64_t kVocab = state.range(1);
  const Q8_0Gemv gemv(kN, BestIsa());
  // Scales-first rows: 80 f16 scales, then 80 × 32 quants (none -128: ggml never writes it).
  const size_t row_bytes = Q8_0Gemv::RowBytes(kN), scale_bytes = kN / 32 * 2;
  const size_t bytes = kVocab * row_bytes;
  auto table = RandomTable(bytes, 0, 0);
  const uint16_t d = FloatToHalf(0.01f);
  for (int64_t v = 0; v < kVocab; ++v) {
    uint8_t* row = table.get() + v * row_bytes;
    for (size_t i = 0; i < scale_bytes; i += 2) std::memcpy(row + i, &d, 2);
    for (size_t i = scale_bytes; i < row_bytes; ++i)
      if (row[i] == 0x80) row[i] = 0x81;
  }
  RunQuantized(state, pool, gemv, table.get(), kVocab, bytes);
}

void BM_Q6_K(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  const int64_t kVocab = state.range(1);
  const Q6KGemv gemv(kN, BestIsa());
  const size_t bytes = kVocab * kN / 256 * 210;
  auto table = RandomTable(bytes, 210, q6k::kDOffset);
  RunQuantized(state, pool, gemv, table.get(), kVocab, bytes);
}

// Args: threads, rows. 32768 rows stream from DRAM; 128 rows stay in L2 (the compute rate).
void Shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"threads", "rows"});
  for (int64_t rows : {32768, 2048})
    for (int64_t threads : {1, 2}) b->Args({threads, rows});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}
// BM_F16: the shapes above with the kernel's default prefetch distance (prefetch -1), then the
// table streamed from DRAM at each distance (F16GemvKernel::DefaultPrefetchBytes comes from
// these rows).
void F16Shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"threads", "rows", "prefetch", "isa"});
  for (int64_t isa : {0, 1}) {
    for (int64_t rows : {128256, 32768, 2048})
      for (int64_t threads : {1, 2}) b->Args({threads, rows, -1, isa});
    for (int64_t distance : {0, 1024, 2048, 4096, 8192, 16384})
      for (int64_t threads : {1, 2}) b->Args({threads, 32768, distance, isa});
  }
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}
BENCHMARK(BM_F16)->Apply(F16Shapes);
BENCHMARK(BM_Q8_0)->Apply(Shapes);
BENCHMARK(BM_Q6_K)->Apply(Shapes);

}  // namespace
}  // namespace bitjit::codegen

BENCHMARK_MAIN();
