// Would 1.6-bit ternary packing (5 weights per byte, base 3) win decode on this CPU?
//
// Decode streams every ternary weight once per token, so fewer bytes per weight help only if
// unpacking keeps up with memory. This benchmark runs the two inner loops side by side over
// the 2B model's 521 MB of weights (2 bits) or the same weights at 1.6 bits (417 MB), from
// huge pages, one core, K = 2560, and reports bytes read per second and the weights per
// second they amount to ("weights" counter):
//   2 bits: our layout (codegen/ternary/ternary_layout.h): one AND and one vpdpbusd per plane.
//   1.6 bits: bytes hold q = ceil(256 * v / 243) for v = sum c_j 3^j (the form whose digits
//     fall out of multiplications: c_j = (uint8(q * 3^j) * 3) >> 8); each byte goes to the
//     high half of a 16-bit lane, then per plane vpmullw by 3^j, vpmulhuw by 3, vpdpwssd.
// Only the AVX-512 VNNI form is measured: it is the best case for the denser layout.
#include <benchmark/benchmark.h>
// GCC 12's AVX-512 headers trip -Wuninitialized inside their own masked builtins when the
// intrinsics are used from target("avx512...") functions (a known false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstdint>
#include <memory>

#include "codegen/cpu_features.h"
#include "codegen/memory/weight_memory.h"

namespace bitjit::codegen {
namespace {

constexpr int kK = 2560;
constexpr size_t kWeights = size_t{521} * 4 << 20;  // the 2B model's ternary weights, about

__attribute__((target("avx512f,avx512bw,avx512vnni"))) int64_t Gemv2Bit(const uint8_t* w,
                                                                        size_t bytes,
                                                                        const int8_t* q) {
  const __m512i m0 = _mm512_set1_epi8(0x03), m1 = _mm512_set1_epi8(0x0c),
                m2 = _mm512_set1_epi8(0x30), m3 = _mm512_set1_epi8(static_cast<char>(0xc0));
  __m512i total = _mm512_setzero_si512();
  constexpr int kChunks = kK / 16;  // 64 bytes: 16 rows x 16 k
  for (size_t tile = 0; tile + kChunks * 64 <= bytes; tile += kChunks * 64) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int c = 0; c < kChunks; ++c) {
      const __m512i v = _mm512_load_si512(w + tile + c * 64);
      const auto* qq = reinterpret_cast<const int32_t*>(q + c * 16);
      a0 = _mm512_dpbusd_epi32(a0, _mm512_and_si512(v, m0), _mm512_set1_epi32(qq[0]));
      a1 = _mm512_dpbusd_epi32(a1, _mm512_and_si512(v, m1), _mm512_set1_epi32(qq[1]));
      a2 = _mm512_dpbusd_epi32(a2, _mm512_and_si512(v, m2), _mm512_set1_epi32(qq[2]));
      a3 = _mm512_dpbusd_epi32(a3, _mm512_and_si512(v, m3), _mm512_set1_epi32(qq[3]));
    }
    total = _mm512_add_epi32(total, _mm512_add_epi32(_mm512_add_epi32(a0, _mm512_srai_epi32(a1, 2)),
                                                     _mm512_add_epi32(_mm512_srai_epi32(a2, 4),
                                                                      _mm512_srai_epi32(a3, 6))));
  }
  return _mm512_reduce_add_epi32(total);
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) int64_t Gemv1p6Bit(const uint8_t* w,
                                                                          size_t bytes,
                                                                          const int16_t* q) {
  const __m512i zero = _mm512_setzero_si512(), three = _mm512_set1_epi16(3);
  const __m512i pow3[5] = {_mm512_set1_epi16(1), _mm512_set1_epi16(3), _mm512_set1_epi16(9),
                           _mm512_set1_epi16(27), _mm512_set1_epi16(81)};
  __m512i total = zero;
  constexpr int kBlocks = kK / 20;  // 64 bytes: 16 rows x 20 k
  for (size_t tile = 0; tile + kBlocks * 64 <= bytes; tile += kBlocks * 64) {
    __m512i acc[2] = {zero, zero};
    for (int b = 0; b < kBlocks; ++b) {
      const __m512i v = _mm512_load_si512(w + tile + b * 64);
      const auto* qq = reinterpret_cast<const int32_t*>(q + b * 20);
      for (int h = 0; h < 2; ++h) {
        const __m512i x = h ? _mm512_unpackhi_epi8(zero, v) : _mm512_unpacklo_epi8(zero, v);
        for (int j = 0; j < 5; ++j) {
          const __m512i shifted = j ? _mm512_mullo_epi16(x, pow3[j]) : x;
          const __m512i digit = _mm512_mulhi_epu16(shifted, three);
          acc[h] = _mm512_dpwssd_epi32(acc[h], digit, _mm512_set1_epi32(qq[h * 5 + j]));
        }
      }
    }
    total = _mm512_add_epi32(total, _mm512_add_epi32(acc[0], acc[1]));
  }
  return _mm512_reduce_add_epi32(total);
}

std::shared_ptr<uint8_t[]> Weights(size_t bytes) {
  std::shared_ptr<uint8_t[]> w = AllocateWeightMemory(bytes);
  for (size_t i = 0; i < bytes; ++i) w[i] = static_cast<uint8_t>(i * 131 % 243);
  return w;
}

void BM_Decode2Bit(benchmark::State& state) {
  if (!IsaSupported(Isa::kAvx512Vnni)) return state.SkipWithError("needs AVX-512 VNNI");
  const size_t bytes = kWeights / 4;
  const auto w = Weights(bytes);
  alignas(64) static int8_t q[kK];
  for (int i = 0; i < kK; ++i) q[i] = static_cast<int8_t>(i % 200 - 100);
  for (auto _ : state) benchmark::DoNotOptimize(Gemv2Bit(w.get(), bytes, q));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["weights"] = benchmark::Counter(static_cast<double>(state.iterations()) * kWeights,
                                                 benchmark::Counter::kIsRate);
}

void BM_Decode1p6Bit(benchmark::State& state) {
  if (!IsaSupported(Isa::kAvx512Vnni)) return state.SkipWithError("needs AVX-512 VNNI");
  const size_t bytes = kWeights / 5;
  const auto w = Weights(bytes);
  alignas(64) static int16_t q[kK];
  for (int i = 0; i < kK; ++i) q[i] = static_cast<int16_t>(i % 200 - 100);
  for (auto _ : state) benchmark::DoNotOptimize(Gemv1p6Bit(w.get(), bytes, q));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["weights"] = benchmark::Counter(static_cast<double>(state.iterations()) * kWeights,
                                                 benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Decode2Bit)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_Decode1p6Bit)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
}  // namespace bitjit::codegen

BENCHMARK_MAIN();
