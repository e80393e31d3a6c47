// Ternary matmul kernels at bitnet-b1.58-2B-4T shapes, on every ISA this CPU runs.
//   GEMV (decode, 1 token): weight bytes per second. The weights rotate through enough copies
//     (> 256 MB) that every call streams them from DRAM, as decode does (521 MB of ternary
//     weights per token); compare with one core's memory bandwidth.
//   GEMM (prefill, 128 tokens): GOPS = 2*K*N*T per second (one multiply-add = 2 ops).
//   Both also for 1.6-bit weights ("avx512vnni_1p6bit") where the CPU has AVX512_VBMI; the
//   "weights" counter (per second) compares the packings, whose bytes differ.
// Run: build-jit/bench/ternary_gemv_bench --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/jit/jit_generator.h"
#include "codegen/lmhead/f16_gemv.h"
#include "codegen/quant/activation_quantizer.h"
#include "codegen/ternary/ternary_gemv.h"
#include "codegen/ternary/ternary_layout.h"
#include "codegen/ternary/ternary_matmul.h"

namespace bitjit::codegen {
namespace {

struct Shape {
  const char* what;
  int64_t k, n;
};
// attn_q / attn_output, ffn_gate / ffn_up, ffn_down, attn_k / attn_v.
constexpr Shape kShapes[] = {{"attn_q", 2560, 2560},
                             {"ffn_up", 2560, 6912},
                             {"ffn_down", 6912, 2560},
                             {"attn_k", 2560, 640}};

constexpr size_t kRotationBytes = size_t{256} << 20;

std::vector<uint8_t> RandomI2s(int64_t k, int64_t n) {
  std::mt19937 rng(42);
  std::vector<uint8_t> bytes(I2sCodeBytes(k * n));
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng() % 3 * 0x55);  // codes 0..2 per byte
  return bytes;
}

std::vector<int8_t> RandomQ(int64_t k, int64_t n_tokens) {
  std::mt19937 rng(7);
  std::vector<int8_t> q(static_cast<size_t>(k * n_tokens));
  for (int8_t& v : q) v = static_cast<int8_t>(rng());
  return q;
}

// Copies of `packed` that together exceed the last-level cache, used round robin so that
// every call streams its weights from DRAM.
std::vector<TernaryPackedWeights> RotationCopies(const TernaryPackedWeights& packed, bool rotate) {
  std::vector<TernaryPackedWeights> copies;
  const size_t n_copies = rotate ? kRotationBytes / packed.bytes + 1 : 1;
  for (size_t i = 0; i < n_copies; ++i) {
    copies.push_back(AllocateTernaryPacked(packed.k, packed.n, packed.tile_rows, packed.scale,
                                           nullptr, packed.packing));
    std::memcpy(copies.back().data.get(), packed.data.get(), packed.bytes);
  }
  return copies;
}

// The roofline: reads `bytes` with aligned 64-byte loads into 4 OR chains, nothing else.
class ReadKernel : public JitGenerator {
 public:
  ReadKernel() : JitGenerator("bench_read_avx512", 4096) { Create(); }
  void Read(const uint8_t* p, size_t bytes) const {
    entry<void (*)(const uint8_t*, size_t)>()(p, bytes);
  }

 private:
  void generate() override {
    Xbyak::Label loop;
    for (int i = 0; i < 4; ++i) vpxord(Xbyak::Zmm(i), Xbyak::Zmm(i), Xbyak::Zmm(i));
    L(loop);
    for (int i = 0; i < 4; ++i) vpord(Xbyak::Zmm(i), Xbyak::Zmm(i), zword[rdi + 64 * i]);
    add(rdi, 256);
    sub(rsi, 256);
    jg(loop);
    vzeroupper();
    ret();
  }
};

void BM_ReadBandwidth(benchmark::State& state, Shape shape) {
  const TernaryPackedWeights packed = AllocateTernaryPacked(shape.k, shape.n, 32, 1.0f);
  const std::vector<TernaryPackedWeights> copies = RotationCopies(packed, true);
  const ReadKernel kernel;
  size_t next = 0;
  for (auto _ : state) {
    kernel.Read(copies[next].data.get(), packed.bytes);
    next = next + 1 == copies.size() ? 0 : next + 1;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * packed.bytes));
}

// GEMV with a software prefetch distance, to decide whether prefetching pays on this CPU.
void BM_GemvPrefetch(benchmark::State& state, Isa isa, TernaryPacking packing, Shape shape,
                     int prefetch_bytes) {
  TernaryKernelParams p;
  p.k = shape.k;
  p.isa = isa;
  p.tile_rows = DefaultTernaryTile(isa).rows;
  p.packing = packing;
  p.prefetch_bytes = prefetch_bytes;
  TernaryGemvKernel kernel(p);
  kernel.Create();
  const std::vector<uint8_t> i2s = RandomI2s(shape.k, shape.n);
  const std::vector<TernaryPackedWeights> copies = RotationCopies(
      PackTernaryWeights(i2s.data(), shape.k, shape.n, 1.0f, p.tile_rows, packing), true);
  const std::vector<int8_t> q = RandomQ(shape.k, 1);
  int32_t q_sum = 0;
  std::vector<int32_t> out(static_cast<size_t>(shape.n));
  TernaryKernelArgs args{};
  args.q = q.data();
  args.q_sum = &q_sum;
  args.out = out.data();
  args.ld_out = shape.n;
  args.n_tokens = 1;
  args.row_begin = 0;
  args.row_end = static_cast<int32_t>(shape.n);
  size_t next = 0;
  for (auto _ : state) {
    args.weights = copies[next].data.get();
    kernel.fn()(&args);
    benchmark::DoNotOptimize(out.data());
    next = next + 1 == copies.size() ? 0 : next + 1;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * copies[0].bytes));
}

// rotate = false keeps one copy, cache resident when small: the kernel's compute ceiling.
void BM_Gemv(benchmark::State& state, Isa isa, TernaryPacking packing, Shape shape, bool rotate) {
  const TernaryMatmul mm(shape.k, shape.n, isa, {0, 0, packing});
  const std::vector<uint8_t> i2s = RandomI2s(shape.k, shape.n);
  const TernaryPackedWeights packed = mm.Pack(i2s.data(), 1.0f);
  const std::vector<TernaryPackedWeights> copies = RotationCopies(packed, rotate);
  const std::vector<int8_t> q = RandomQ(shape.k, 1);
  std::vector<int32_t> out(static_cast<size_t>(shape.n));
  size_t next = 0;
  for (auto _ : state) {
    mm.RunI32(copies[next], q.data(), 1, 0, shape.n, out.data());
    benchmark::DoNotOptimize(out.data());
    next = next + 1 == copies.size() ? 0 : next + 1;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * packed.bytes));
  state.counters["weights"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(shape.k * shape.n),
      benchmark::Counter::kIsRate);
}

void BM_Gemm(benchmark::State& state, Isa isa, TernaryPacking packing, Shape shape,
             int64_t n_tokens) {
  const TernaryMatmul mm(shape.k, shape.n, isa, {0, 0, packing});
  const std::vector<uint8_t> i2s = RandomI2s(shape.k, shape.n);
  const TernaryPackedWeights packed = mm.Pack(i2s.data(), 1.0f);
  const std::vector<int8_t> q = RandomQ(shape.k, n_tokens);
  std::vector<int32_t> out(static_cast<size_t>(shape.n * n_tokens));
  for (auto _ : state) {
    mm.RunI32(packed, q.data(), n_tokens, 0, shape.n, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GOPS"] =
      benchmark::Counter(2.0 * static_cast<double>(shape.k * shape.n * n_tokens) * 1e-9 *
                             static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

// The tied lm_head: 128256 F16 rows of 2560 (657 MB, far beyond the caches) per token.
void BM_LmHeadF16(benchmark::State& state, Isa isa) {
  const int64_t n = 2560, vocab = 128256;
  std::vector<uint16_t> table(static_cast<size_t>(n * vocab));
  std::mt19937 rng(3);
  for (size_t i = 0; i < (size_t{1} << 20); ++i)
    table[i] = static_cast<uint16_t>(0x2000 + rng() % 0x1000);
  for (size_t i = size_t{1} << 20; i < table.size(); ++i) table[i] = table[i - (size_t{1} << 20)];
  std::vector<float> x(static_cast<size_t>(n), 0.5f), logits(static_cast<size_t>(vocab));
  const F16Gemv gemv(n, isa);
  F16TiledTable tiles = gemv.Allocate(vocab);
  gemv.PackTiles(table.data(), 0, tiles.n_tiles, &tiles);
  for (auto _ : state) {
    gemv.Run(tiles, x.data(), /*round_input=*/true, 0, vocab, logits.data());
    benchmark::DoNotOptimize(logits.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * table.size() * 2));
}

// BitLinear's activation quantization (+ sum of q) for `rows` tokens of K.
void BM_Quantize(benchmark::State& state, Isa isa, int64_t k, int64_t rows) {
  std::vector<float> x(static_cast<size_t>(k * rows));
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (float& v : x) v = normal(rng);
  std::vector<int8_t> q(x.size());
  std::vector<float> s(static_cast<size_t>(rows));
  std::vector<int32_t> sums(static_cast<size_t>(rows));
  const ActivationQuantizer quantizer(k, isa);
  for (auto _ : state) {
    quantizer.Run(x.data(), rows, q.data(), s.data(), sums.data());
    benchmark::DoNotOptimize(q.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * x.size() * 4));
}

void RegisterAll() {
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (!IsaSupported(isa)) continue;
    const std::string isa_name(IsaName(isa));
    benchmark::RegisterBenchmark(("LmHeadF16/" + isa_name + "/N2560xV128256").c_str(), BM_LmHeadF16,
                                 isa)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    for (int64_t k : {2560, 6912}) {
      for (int64_t rows : {1, 128}) {
        benchmark::RegisterBenchmark(
            ("Quantize/" + isa_name + "/K" + std::to_string(k) + "/T" + std::to_string(rows))
                .c_str(),
            BM_Quantize, isa, k, rows)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
      }
    }
  }
  if (IsaSupported(Isa::kAvx512)) {
    for (const Shape& shape : kShapes) {
      const std::string dims = "/K" + std::to_string(shape.k) + "xN" + std::to_string(shape.n);
      benchmark::RegisterBenchmark(("ReadBandwidth" + dims).c_str(), BM_ReadBandwidth, shape)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  }
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512Vnni}) {
    for (TernaryPacking packing : {TernaryPacking::k2Bit, TernaryPacking::k1p6Bit}) {
      if (!IsaSupported(isa) || !TernaryPackingSupported(isa, packing)) continue;
      const std::string name = "TernaryGemvPrefetch/" + std::string(IsaName(isa)) +
                               (packing == TernaryPacking::k1p6Bit ? "_1p6bit" : "") +
                               "/K2560xN6912/pf";
      for (int distance : {0, 512, 1024, 1536, 2048, 4096, 8192}) {
        benchmark::RegisterBenchmark((name + std::to_string(distance)).c_str(), BM_GemvPrefetch,
                                     isa, packing, kShapes[1], distance)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
      }
    }
  }
  struct Variant {
    Isa isa;
    TernaryPacking packing;
  };
  const Variant variants[] = {
      {Isa::kAvx2, TernaryPacking::k2Bit},       {Isa::kAvx512, TernaryPacking::k2Bit},
      {Isa::kAvx512Vnni, TernaryPacking::k2Bit}, {Isa::kAvx512Vnni, TernaryPacking::k1p6Bit},
      {Isa::kAvxVnni, TernaryPacking::k2Bit},    {Isa::kRef, TernaryPacking::k2Bit}};
  for (const auto& [isa, packing] : variants) {
    if (!IsaSupported(isa) || !TernaryPackingSupported(isa, packing)) continue;
    const std::string isa_name =
        std::string(IsaName(isa)) + (packing == TernaryPacking::k1p6Bit ? "_1p6bit" : "");
    for (const Shape& shape : kShapes) {
      const std::string dims = "/K" + std::to_string(shape.k) + "xN" + std::to_string(shape.n);
      if (isa == Isa::kRef && shape.n != 640) continue;  // the portable loop is slow
      benchmark::RegisterBenchmark(("TernaryGemv/" + isa_name + dims).c_str(), BM_Gemv, isa,
                                   packing, shape, isa != Isa::kRef)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
      if (isa == Isa::kRef) continue;
      if (shape.n == 640) {  // 410 KB: L2 resident
        benchmark::RegisterBenchmark(("TernaryGemvL2/" + isa_name + dims).c_str(), BM_Gemv, isa,
                                     packing, shape, false)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
      }
      benchmark::RegisterBenchmark(("TernaryGemm/" + isa_name + dims + "/T128").c_str(), BM_Gemm,
                                   isa, packing, shape, int64_t{128})
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
}

}  // namespace
}  // namespace bitjit::codegen

int main(int argc, char** argv) {
  bitjit::codegen::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
