// Does 1.6-bit ternary packing (5 weights per byte, base 3) win decode on this CPU, and which
// unpack makes it win?
//
// Decode streams every ternary weight once per token, so fewer bytes per weight help only if
// unpacking keeps up with memory. This benchmark runs four inner loops over the 2B model's
// 521 MB of weights (2 bits) or the same weights at 1.6 bits (417 MB), from huge pages, K =
// 2560, on 1 and 2 threads, and reports bytes read per second and the weights per second they
// amount to ("weights" counter):
//   2 bits: our layout (codegen/ternary/ternary_layout.h): one AND and one vpdpbusd per plane.
//   1.6 bits, banded (the kernels' form, ternary_layout.h): bytes hold r + 86 c_4; vpermb on
//     byte >> 2 gives the band 86 c_4 (into its own vpdpbusd, divided by 86 once), vpermi2b on
//     byte - band gives c_0..c_3 as the 2-bit byte.
// And two forms measured before and not used (too slow to win at one thread):
//   1.6 bits, lookups (AVX-512 VBMI): bytes hold v = sum c_j 3^j; vpermi2b tables give c0..c3
//     as 2-bit fields (the 2-bit layout's byte) and c4, then AND + vpdpbusd per plane.
//   1.6 bits, multiplies: bytes hold q = ceil(256 * v / 243) (digits fall out of
//     multiplications: c_j = (uint8(q * 3^j) * 3) >> 8); each byte goes to the high half of a
//     16-bit lane, then per plane vpmullw by 3^j, vpmulhuw by 3, vpdpwssd.
// In all 1.6-bit forms byte p of a row's dword in block s holds k = 20s + 4j + p for digit j,
// so plane j multiplies the 4 activation bytes at 20s + 4j, as in the 2-bit layout.
#include <benchmark/benchmark.h>
// GCC 12's AVX-512 headers trip -Wuninitialized inside their own masked builtins when the
// intrinsics are used from target("avx512...") functions (a known false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/memory/weight_memory.h"
#include "codegen/ternary/ternary_layout.h"

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

// 1.6 bits through byte lookups (AVX-512 VBMI): bytes hold v = sum c_j 3^j (0..242); two
// 256-entry tables, each split in halves of 128 for vpermi2b and blended on the byte's top
// bit, give c0..c3 as 2-bit fields (our 2-bit layout's byte) and c4; then the 2-bit loop's
// AND + vpdpbusd per plane.
struct Digits {
  __m512i a[4], b[4];  // table A (c0 | c1 << 2 | c2 << 4 | c3 << 6) and B (c4): 4 x 64 entries
};

Digits MakeDigitTables() {
  alignas(64) uint8_t a[256] = {}, b[256] = {};
  for (int v = 0; v < 243; ++v) {
    int x = v, packed = 0;
    for (int j = 0; j < 4; ++j, x /= 3) packed |= (x % 3) << (2 * j);
    a[v] = static_cast<uint8_t>(packed);
    b[v] = static_cast<uint8_t>(x % 3);
  }
  Digits d;
  for (int i = 0; i < 4; ++i) {
    std::memcpy(&d.a[i], a + 64 * i, 64);
    std::memcpy(&d.b[i], b + 64 * i, 64);
  }
  return d;
}

#define BITJIT_VBMI_TARGET __attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vnni")))

// The 1.6-bit loop around an unpack of 64 bytes into c0..c3 as a 2-bit byte and c4 times
// `c4_scale` (exact: divided out once per tile).
template <typename Unpack>
BITJIT_VBMI_TARGET int64_t Gemv1p6BitUnpacked(const uint8_t* w, size_t bytes, const int8_t* q,
                                              int c4_scale, const Unpack& unpack) {
  const __m512i m0 = _mm512_set1_epi8(0x03), m1 = _mm512_set1_epi8(0x0c),
                m2 = _mm512_set1_epi8(0x30), m3 = _mm512_set1_epi8(static_cast<char>(0xc0));
  __m512i total = _mm512_setzero_si512();
  constexpr int kBlocks = kK / 20;  // 64 bytes: 16 rows x 20 k
  for (size_t tile = 0; tile + kBlocks * 64 <= bytes; tile += kBlocks * 64) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
    for (int b = 0; b < kBlocks; ++b) {
      __m512i lo4, c4;
      unpack(_mm512_load_si512(w + tile + b * 64), &lo4, &c4);
      const auto* qq = reinterpret_cast<const int32_t*>(q + b * 20);
      a0 = _mm512_dpbusd_epi32(a0, _mm512_and_si512(lo4, m0), _mm512_set1_epi32(qq[0]));
      a1 = _mm512_dpbusd_epi32(a1, _mm512_and_si512(lo4, m1), _mm512_set1_epi32(qq[1]));
      a2 = _mm512_dpbusd_epi32(a2, _mm512_and_si512(lo4, m2), _mm512_set1_epi32(qq[2]));
      a3 = _mm512_dpbusd_epi32(a3, _mm512_and_si512(lo4, m3), _mm512_set1_epi32(qq[3]));
      a4 = _mm512_dpbusd_epi32(a4, c4, _mm512_set1_epi32(qq[4]));
    }
    if (c4_scale != 1) {  // the kernels multiply by 43^-1 mod 2^32 after >> 1 instead
      alignas(64) int32_t lanes[16];
      _mm512_store_si512(lanes, a4);
      for (int32_t& l : lanes) l /= c4_scale;
      a4 = _mm512_load_si512(lanes);
    }
    total = _mm512_add_epi32(
        total, _mm512_add_epi32(
                   _mm512_add_epi32(a0, _mm512_srai_epi32(a1, 2)),
                   _mm512_add_epi32(
                       _mm512_add_epi32(_mm512_srai_epi32(a2, 4), _mm512_srai_epi32(a3, 6)), a4)));
  }
  return _mm512_reduce_add_epi32(total);
}

// Two 256-entry tables, each as two vpermi2b halves blended on the byte's top bit.
struct LutUnpack {
  Digits d;
  BITJIT_VBMI_TARGET void operator()(__m512i v, __m512i* lo4, __m512i* c4) const {
    const __mmask64 high = _mm512_movepi8_mask(v);
    *lo4 = _mm512_mask_blend_epi8(high, _mm512_permutex2var_epi8(d.a[0], v, d.a[1]),
                                  _mm512_permutex2var_epi8(d.a[2], v, d.a[3]));
    *c4 = _mm512_mask_blend_epi8(high, _mm512_permutex2var_epi8(d.b[0], v, d.b[1]),
                                 _mm512_permutex2var_epi8(d.b[2], v, d.b[3]));
  }
};

// The kernels' banded form (see the top); the tables come from the layout itself. c4 stays
// the band, 86 c4.
struct BandedUnpack {
  __m512i band, low[2];
  BandedUnpack() {
    const Base3Tables& t = TernaryBase3Tables();
    std::memcpy(&band, t.band, 64);
    std::memcpy(&low[0], t.low, 64);
    std::memcpy(&low[1], t.low + 64, 64);
  }
  BITJIT_VBMI_TARGET void operator()(__m512i v, __m512i* lo4, __m512i* c4) const {
    *c4 = _mm512_permutexvar_epi8(_mm512_srli_epi16(v, 2), band);
    *lo4 = _mm512_permutex2var_epi8(low[0], _mm512_sub_epi8(v, *c4), low[1]);
  }
};

// Runs gemv(first byte, bytes) over `bytes` split into `threads` whole-tile parts at once.
template <typename Gemv>
int64_t Split(int threads, size_t bytes, size_t tile_bytes, Gemv&& gemv) {
  const size_t tiles = bytes / tile_bytes;
  std::vector<int64_t> sums(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  for (int t = 1; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const size_t t0 = tiles * t / threads, t1 = tiles * (t + 1) / threads;
      sums[t] = gemv(t0 * tile_bytes, (t1 - t0) * tile_bytes);
    });
  }
  sums[0] = gemv(0, tiles / threads * tile_bytes);
  for (auto& w : workers) w.join();
  int64_t total = 0;
  for (int64_t v : sums) total += v;
  return total;
}

// Bytes v = sum c_j 3^j (0..242), or the same codes in the banded byte code.
std::shared_ptr<uint8_t[]> Weights(size_t bytes, bool banded = false) {
  std::shared_ptr<uint8_t[]> w = AllocateWeightMemory(bytes);
  for (size_t i = 0; i < bytes; ++i) {
    const int v = static_cast<int>(i * 131 % 243);
    const uint8_t codes[5] = {static_cast<uint8_t>(v % 3), static_cast<uint8_t>(v / 3 % 3),
                              static_cast<uint8_t>(v / 9 % 3), static_cast<uint8_t>(v / 27 % 3),
                              static_cast<uint8_t>(v / 81)};
    w[i] = banded ? EncodeBase3(codes) : static_cast<uint8_t>(v);
  }
  return w;
}

// One token's activations as int8 (with slack past K) and as int16.
template <typename T>
const T* Activations() {
  alignas(64) static T q[kK + 64];
  for (int i = 0; i < kK; ++i) q[i] = static_cast<T>(i % 200 - 100);
  return q;
}

// Times gemv(weights, bytes) over `bytes` of weights, in tiles of `tile_bytes` split over
// state.range(0) threads, and reports bytes and weights per second.
template <typename Gemv>
void RunDecode(benchmark::State& state, size_t bytes, size_t tile_bytes, Gemv&& gemv,
               bool banded = false) {
  const auto w = Weights(bytes, banded);
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(Split(threads, bytes, tile_bytes,
                                   [&](size_t at, size_t n) { return gemv(w.get() + at, n); }));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["weights"] = benchmark::Counter(static_cast<double>(state.iterations()) * kWeights,
                                                 benchmark::Counter::kIsRate);
}

void BM_Decode2Bit(benchmark::State& state) {
  if (!IsaSupported(Isa::kAvx512Vnni)) return state.SkipWithError("needs AVX-512 VNNI");
  const int8_t* q = Activations<int8_t>();
  RunDecode(state, kWeights / 4, kK / 16 * 64,
            [&](const uint8_t* w, size_t n) { return Gemv2Bit(w, n, q); });
}

void BM_Decode1p6Bit(benchmark::State& state) {
  if (!IsaSupported(Isa::kAvx512Vnni)) return state.SkipWithError("needs AVX-512 VNNI");
  const int16_t* q = Activations<int16_t>();
  RunDecode(state, kWeights / 5, kK / 20 * 64,
            [&](const uint8_t* w, size_t n) { return Gemv1p6Bit(w, n, q); });
}

void BM_Decode1p6BitLut(benchmark::State& state) {
  if (!IsaSupported(Isa::kAvx512Vnni) || !__builtin_cpu_supports("avx512vbmi"))
    return state.SkipWithError("needs AVX-512 VNNI and VBMI");
  const int8_t* q = Activations<int8_t>();
  const LutUnpack unpack{MakeDigitTables()};
  RunDecode(state, kWeights / 5, kK / 20 * 64,
            [&](const uint8_t* w, size_t n) { return Gemv1p6BitUnpacked(w, n, q, 1, unpack); });
}

BENCHMARK(BM_Decode2Bit)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);
void BM_Decode1p6BitBanded(benchmark::State& state) {
  if (!IsaSupported(Isa::kAvx512Vnni) || !HasAvx512Vbmi())
    return state.SkipWithError("needs AVX-512 VNNI and VBMI");
  const int8_t* q = Activations<int8_t>();
  const BandedUnpack unpack;
  RunDecode(
      state, kWeights / 5, kK / 20 * 64,
      [&](const uint8_t* w, size_t n) {
        return Gemv1p6BitUnpacked(w, n, q, kTernaryBase3Band, unpack);
      },
      true);
}

BENCHMARK(BM_Decode1p6BitBanded)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);
BENCHMARK(BM_Decode1p6BitLut)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);
BENCHMARK(BM_Decode1p6Bit)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

}  // namespace
}  // namespace bitjit::codegen

BENCHMARK_MAIN();
