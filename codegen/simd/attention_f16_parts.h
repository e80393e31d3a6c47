// The pieces of the f16-cache attention kernels (attention_f16.h): bitnet.cpp's roundings and
// orders of addition on AVX2 + F16C + FMA, shared by the one-head kernel and the AVX-512 block
// kernel so that both add in exactly the same order.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "codegen/ref/ggml_float_order.h"
#include "codegen/simd/ggml_expf_avx2.h"
#include "ir/base/half.h"

#define BITJIT_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace bitjit::kernels::attention_parts {

constexpr int kMaxDim = 512;
constexpr int kGgmlSlots = 64;      // ggml_vec_dot_f16: 4 accumulators x 16 lanes per block of 64
constexpr int kTinyBlasSlots = 16;  // tinyBLAS<16>: 16 lanes

inline int64_t RoundUp(int64_t x, int64_t to) {
  return (x + to - 1) / to * to;
}

// Lanes added by halving: (i + i+4), then (+ i+2), then (+ i+1).
BITJIT_AVX2 inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// ref::ReduceAdd16 of the lanes (lo[0..7], hi[0..7]).
BITJIT_AVX2 inline float ReduceAdd16(__m256 lo, __m256 hi) {
  return HorizontalSum(_mm256_add_ps(lo, hi));
}

BITJIT_AVX2 inline __m256 Halves8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

BITJIT_AVX2 inline float Half(const uint16_t* p) {
  return _cvtsh_ss(*p);
}

BITJIT_AVX2 inline float Fma(float a, float b, float c) {
  return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

// q as KQ reads it: rounded to f16 (round to nearest even) when asked.
BITJIT_AVX2 inline void PrepareQuery(const float* q, int d, bool round, float* out) {
  int i = 0;
  for (; i + 8 <= d; i += 8) {
    __m256 v = _mm256_loadu_ps(q + i);
    if (round) v = _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
    _mm256_storeu_ps(out + i, v);
  }
  for (; i < d; ++i) out[i] = round ? RoundToHalf(q[i]) : q[i];
}

// ggml_vec_dot_f16(K row, q): the 64 lanes of a block in 8 registers, reduced as
// (acc0 + acc2) + (acc1 + acc3) then by halving; the tail after the last block in double.
BITJIT_AVX2 inline float DotGgml(const float* q, const uint16_t* k, int d) {
  const int blocked = d & ~(kGgmlSlots - 1);
  __m256 acc[8];
  for (auto& a : acc) a = _mm256_setzero_ps();
  for (int i = 0; i < blocked; i += kGgmlSlots)
    for (int c = 0; c < 8; ++c)
      acc[c] = _mm256_fmadd_ps(Halves8(k + i + 8 * c), _mm256_loadu_ps(q + i + 8 * c), acc[c]);
  // 16-lane accumulator a of ggml is registers (2a, 2a+1).
  const __m256 lo = _mm256_add_ps(_mm256_add_ps(acc[0], acc[4]), _mm256_add_ps(acc[2], acc[6]));
  const __m256 hi = _mm256_add_ps(_mm256_add_ps(acc[1], acc[5]), _mm256_add_ps(acc[3], acc[7]));
  double sum = ReduceAdd16(lo, hi);
  for (int i = blocked; i < d; ++i) sum += static_cast<double>(q[i] * Half(k + i));
  return static_cast<float>(sum);
}

// tinyBLAS<16>(K row, q): lane i % 16 accumulates in order.
BITJIT_AVX2 inline float DotTinyBlas(const float* q, const uint16_t* k, int d) {
  __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= d; i += 16) {
    lo = _mm256_fmadd_ps(Halves8(k + i), _mm256_loadu_ps(q + i), lo);
    hi = _mm256_fmadd_ps(Halves8(k + i + 8), _mm256_loadu_ps(q + i + 8), hi);
  }
  if (i == d) return ReduceAdd16(lo, hi);
  alignas(32) float lanes[16];
  _mm256_store_ps(lanes, lo);
  _mm256_store_ps(lanes + 8, hi);
  for (; i < d; ++i) lanes[i % 16] = Fma(Half(k + i), q[i], lanes[i % 16]);
  return ReduceAdd16(_mm256_load_ps(lanes), _mm256_load_ps(lanes + 8));
}

// ref::SoftmaxScores: blocks of 16 through ggml's expf, each block's sum added into a double.
// Leaves the weights of positions n .. RoundUp(n, 16) at 0.
BITJIT_AVX2 inline void Softmax(float* scores, int64_t n, float max, bool round_p) {
  const __m256 vmax = _mm256_set1_ps(max), cutoff = _mm256_set1_ps(-105.0f);
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  double sum = 0.0;
  for (int64_t b = 0; b < n; b += 16) {
    __m256 e[2];
    for (int h = 0; h < 2; ++h) {
      float* at = scores + b + 8 * h;
      const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(at), vmax);
      const __m256i left = _mm256_set1_epi32(static_cast<int>(std::min<int64_t>(n - b - 8 * h, 8)));
      const __m256 inside = _mm256_castsi256_ps(_mm256_cmpgt_epi32(left, iota));
      const __m256 keep = _mm256_and_ps(inside, _mm256_cmp_ps(d, cutoff, _CMP_GE_OQ));
      e[h] = _mm256_and_ps(GgmlExpf(d), keep);
      _mm256_storeu_ps(at, e[h]);
    }
    sum += static_cast<double>(ReduceAdd16(e[0], e[1]));
  }
  const __m256 inv = _mm256_set1_ps(static_cast<float>(1.0 / sum));
  for (int64_t j = 0; j < n; j += 8) {
    __m256 p = _mm256_mul_ps(_mm256_loadu_ps(scores + j), inv);
    if (round_p) p = _mm256_cvtph_ps(_mm256_cvtps_ph(p, _MM_FROUND_TO_NEAREST_INT));
    _mm256_storeu_ps(scores + j, p);
  }
}

// P.V, step 1: the product of position j goes to slot j % kSlots, each slot accumulating
// fma(p_j, v_j, .) in order over its positions [0, n_pos) (weights of 0 add nothing and are
// skipped). Slot rows of `stride` floats. Two slots and C chunks of 8 dims stay in registers
// for a whole pass, so every cache line of V is read once.
template <int kSlots, int C>
BITJIT_AVX2 inline void SlotPass(const float* p, const uint16_t* v, int64_t kv_width, int64_t n_pos,
                                 int d0, int stride, float* slots) {
  for (int s0 = 0; s0 < kSlots; s0 += 2) {
    __m256 acc[2][C];
    for (auto& a : acc)
      for (auto& c : a) c = _mm256_setzero_ps();
    for (int64_t b = 0; b < n_pos; b += kSlots) {
      for (int t = 0; t < 2; ++t) {
        const int64_t j = b + s0 + t;
        if (j >= n_pos || p[j] == 0.0f) continue;
        const __m256 pj = _mm256_set1_ps(p[j]);
        const uint16_t* vj = v + j * kv_width + d0;
        for (int c = 0; c < C; ++c) acc[t][c] = _mm256_fmadd_ps(pj, Halves8(vj + 8 * c), acc[t][c]);
      }
    }
    for (int t = 0; t < 2; ++t)
      for (int c = 0; c < C; ++c)
        _mm256_storeu_ps(slots + (s0 + t) * stride + d0 + 8 * c, acc[t][c]);
  }
}

template <int kSlots>
BITJIT_AVX2 inline void AccumulateSlots(const float* p, const uint16_t* v, int64_t kv_width,
                                        int64_t n_pos, int d, int stride, float* slots) {
  int d0 = 0;
  for (; d0 + 32 <= d; d0 += 32) SlotPass<kSlots, 4>(p, v, kv_width, n_pos, d0, stride, slots);
  for (; d0 + 8 <= d; d0 += 8) SlotPass<kSlots, 1>(p, v, kv_width, n_pos, d0, stride, slots);
  for (; d0 < d; ++d0) {  // head_dim % 8 (96 and 100 have none or 4)
    for (int s = 0; s < kSlots; ++s) {
      float acc = 0.0f;
      for (int64_t j = s; j < n_pos; j += kSlots)
        if (p[j] != 0.0f) acc = Fma(p[j], Half(v + j * kv_width + d0), acc);
      slots[s * stride + d0] = acc;
    }
  }
}

// P.V, step 2: the slots of each dim added as ggml (64: lanes l of the four accumulators as
// (a0 + a2) + (a1 + a3), then the 16 lanes by halving) or tinyBLAS (16 lanes by halving).
template <int kSlots>
BITJIT_AVX2 inline __m256 SlotLane(const float* slots, int stride, int l, int i) {
  const float* at = slots + i;
  if (kSlots == kTinyBlasSlots) return _mm256_loadu_ps(at + l * stride);
  return _mm256_add_ps(
      _mm256_add_ps(_mm256_loadu_ps(at + l * stride), _mm256_loadu_ps(at + (32 + l) * stride)),
      _mm256_add_ps(_mm256_loadu_ps(at + (16 + l) * stride),
                    _mm256_loadu_ps(at + (48 + l) * stride)));
}

template <int kSlots>
BITJIT_AVX2 inline void ReduceSlots(const float* slots, int stride, int d, float* r) {
  const int d8 = d & ~7;
  for (int i = 0; i < d8; i += 8) {
    __m256 s[16];
    for (int l = 0; l < 16; ++l) s[l] = SlotLane<kSlots>(slots, stride, l, i);
    for (int w = 8; w >= 1; w /= 2)
      for (int l = 0; l < w; ++l) s[l] = _mm256_add_ps(s[l], s[l + w]);
    _mm256_storeu_ps(r + i, s[0]);
  }
  for (int i = d8; i < d; ++i) {
    float s[16];
    for (int l = 0; l < 16; ++l) {
      const float* at = slots + i;
      s[l] = kSlots == kTinyBlasSlots ? at[l * stride]
                                      : (at[l * stride] + at[(32 + l) * stride]) +
                                            (at[(16 + l) * stride] + at[(48 + l) * stride]);
    }
    for (int w = 8; w >= 1; w /= 2)
      for (int l = 0; l < w; ++l) s[l] = s[l] + s[l + w];
    r[i] = s[0];
  }
}

// ggml_vec_dot_f16's tail: after the reduced blocks, positions [first, n_kv) one by one in
// double (products of two f16 values, exact in float).
BITJIT_AVX2 inline void DoubleTail(const float* r, const float* p, const uint16_t* v,
                                   int64_t kv_width, int64_t first, int64_t n_kv, int d,
                                   float* out) {
  int i = 0;
  for (; i + 4 <= d; i += 4) {
    __m256d sum = _mm256_cvtps_pd(_mm_loadu_ps(r + i));
    for (int64_t j = first; j < n_kv; ++j) {
      if (p[j] == 0.0f) continue;
      const __m128 vj =
          _mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(v + j * kv_width + i)));
      sum = _mm256_add_pd(sum, _mm256_cvtps_pd(_mm_mul_ps(_mm_set1_ps(p[j]), vj)));
    }
    _mm_storeu_ps(out + i, _mm256_cvtpd_ps(sum));
  }
  for (; i < d; ++i) {
    double sum = r[i];
    for (int64_t j = first; j < n_kv; ++j)
      if (p[j] != 0.0f) sum += static_cast<double>(p[j] * Half(v + j * kv_width + i));
    out[i] = static_cast<float>(sum);
  }
}

inline int64_t ScoresFloats(int64_t n_ctx) {
  return RoundUp(n_ctx, 64);
}

}  // namespace bitjit::kernels::attention_parts
