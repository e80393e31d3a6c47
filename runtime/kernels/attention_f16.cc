#include "runtime/kernels/attention_f16.h"

// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized inside their own masked builtins
// when used from target("avx512...") functions (a known false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "codegen/ref/ref_kernels.h"
#include "ir/base/error.h"
#include "ir/base/half.h"

namespace bitjit::kernels {
namespace {

__attribute__((target("avx2,fma,f16c"))) inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// out[i] = x[i], or x rounded to f16 and back when `round` (n a multiple of 8): F16C, bit-identical
// to RoundToHalf (round to nearest even) and ~20x cheaper than the portable conversion, which
// took a tenth of prefill attention.
__attribute__((target("avx2,fma,f16c"))) void CopyRoundedToHalf(const float* x, int n, bool round,
                                                                float* out) {
  for (int i = 0; i < n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    if (round) v = _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
    _mm256_storeu_ps(out + i, v);
  }
}

constexpr int kMaxHeads = 8;
constexpr int kMaxDim = 512;

// --- AVX2: one head per 8-lane vector ---------------------------------------------------

// Scores of H heads against rows [j, j + R): R * H independent 8-lane chains, so the FMA
// latency is hidden (one row and one head made a chain of head_dim / 8 dependent FMAs).
// Each (row, head) sums exactly as a one-head, one-row loop would.
template <int H, int R>
__attribute__((target("avx2,fma,f16c"))) inline void ScoreRowsAvx2(
    const float (*qv)[kMaxDim], const uint16_t* k_cache, int64_t kv_width, int64_t col, int64_t j,
    int64_t n_kv, int head_dim, float scale, float* scores, float* max) {
  __m256 acc[R][H];
  for (int r = 0; r < R; ++r)
    for (int h = 0; h < H; ++h) acc[r][h] = _mm256_setzero_ps();
  for (int i = 0; i < head_dim; i += 8) {
    for (int r = 0; r < R; ++r) {
      const __m256 k8 = _mm256_cvtph_ps(_mm_loadu_si128(
          reinterpret_cast<const __m128i*>(k_cache + (j + r) * kv_width + col + i)));
      for (int h = 0; h < H; ++h)
        acc[r][h] = _mm256_fmadd_ps(_mm256_load_ps(qv[h] + i), k8, acc[r][h]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int h = 0; h < H; ++h) {
      const float s = HorizontalSum(acc[r][h]) * scale;
      scores[h * n_kv + j + r] = s;
      max[h] = s > max[h] ? s : max[h];
    }
  }
}

// Rows in blocks of R (R * H >= 8 chains), then the rest one by one.
template <int H>
__attribute__((target("avx2,fma,f16c"))) void ScoresAvx2(const float (*qv)[kMaxDim],
                                                         const uint16_t* k_cache, int64_t kv_width,
                                                         int64_t col, int64_t n_kv, int head_dim,
                                                         float scale, float* scores, float* max) {
  constexpr int R = H >= 8 ? 1 : (8 + H - 1) / H;
  int64_t j = 0;
  for (; j + R <= n_kv; j += R)
    ScoreRowsAvx2<H, R>(qv, k_cache, kv_width, col, j, n_kv, head_dim, scale, scores, max);
  for (; j < n_kv; ++j)
    ScoreRowsAvx2<H, 1>(qv, k_cache, kv_width, col, j, n_kv, head_dim, scale, scores, max);
}

// out[h] += p[h][j] * v[j] over all rows j in order, for dims [d, d + 8C): the H x C output
// vectors stay in registers for the whole pass over the rows (they went through memory for
// every row). Rows whose weight is 0 are skipped per head, as before.
template <int H, int C>
__attribute__((target("avx2,fma,f16c"))) inline void AccumulateValuesAvx2(
    const float* scores, const uint16_t* v_cache, int64_t kv_width, int64_t col, int64_t n_kv,
    int d, float* out, int head_dim) {
  __m256 acc[H][C];
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) acc[h][c] = _mm256_setzero_ps();
  for (int64_t j = 0; j < n_kv; ++j) {
    const uint16_t* vj = v_cache + j * kv_width + col + d;
    __m256 v8[C];
    bool converted = false;
    for (int h = 0; h < H; ++h) {
      const float p = scores[h * n_kv + j];
      if (p == 0.0f) continue;  // most of a hard-argmax row
      if (!converted) {
        for (int c = 0; c < C; ++c)
          v8[c] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(vj + 8 * c)));
        converted = true;
      }
      const __m256 pv = _mm256_set1_ps(p);
      for (int c = 0; c < C; ++c) acc[h][c] = _mm256_fmadd_ps(pv, v8[c], acc[h][c]);
    }
  }
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) _mm256_storeu_ps(out + h * head_dim + d + 8 * c, acc[h][c]);
}

template <int H>
__attribute__((target("avx2,fma,f16c"))) void ValuesAvx2(const float* scores,
                                                         const uint16_t* v_cache, int64_t kv_width,
                                                         int64_t col, int64_t n_kv, int head_dim,
                                                         float* out) {
  constexpr int C = H >= 8 ? 1 : 8 / H;  // H * C = 8 accumulators of the 16 ymm registers
  int d = 0;
  for (; d + 8 * C <= head_dim; d += 8 * C)
    AccumulateValuesAvx2<H, C>(scores, v_cache, kv_width, col, n_kv, d, out, head_dim);
  for (; d < head_dim; d += 8)
    AccumulateValuesAvx2<H, 1>(scores, v_cache, kv_width, col, n_kv, d, out, head_dim);
}

template <int H>
__attribute__((target("avx2,fma,f16c"))) void GroupAvx2(const float* q, const uint16_t* k_cache,
                                                        const uint16_t* v_cache, int64_t kv_width,
                                                        int64_t col, int64_t n_kv, int head_dim,
                                                        bool round_q, bool round_p, float* scores,
                                                        float* out) {
  alignas(32) float qv[H][kMaxDim];
  for (int h = 0; h < H; ++h) CopyRoundedToHalf(q + h * head_dim, head_dim, round_q, qv[h]);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  float max[H];
  for (int h = 0; h < H; ++h) max[h] = -INFINITY;
  ScoresAvx2<H>(qv, k_cache, kv_width, col, n_kv, head_dim, scale, scores, max);
  for (int h = 0; h < H; ++h) ref::SoftmaxScores(scores + h * n_kv, n_kv, max[h], round_p);
  ValuesAvx2<H>(scores, v_cache, kv_width, col, n_kv, head_dim, out);
}

// --- AVX-512: two heads per zmm, one per 8-lane half ---------------------------------------

__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma,f16c"))) inline __m512 BroadcastHalves(
    const uint16_t* at) {
  return _mm512_broadcast_f32x8(
      _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(at))));
}

// As ScoreRowsAvx2 for P pairs of heads (2P heads; an odd last head is paired with itself).
template <int P, int R>
__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma,f16c"))) inline void ScoreRowsAvx512(
    const float (*qp)[2 * kMaxDim], int n_heads, const uint16_t* k_cache, int64_t kv_width,
    int64_t col, int64_t j, int64_t n_kv, int head_dim, float scale, float* scores, float* max) {
  __m512 acc[R][P];
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < P; ++p) acc[r][p] = _mm512_setzero_ps();
  for (int c = 0; c < head_dim / 8; ++c) {
    for (int r = 0; r < R; ++r) {
      const __m512 k16 = BroadcastHalves(k_cache + (j + r) * kv_width + col + 8 * c);
      for (int p = 0; p < P; ++p)
        acc[r][p] = _mm512_fmadd_ps(_mm512_load_ps(qp[p] + c * 16), k16, acc[r][p]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int p = 0; p < P; ++p) {
      const float s0 = HorizontalSum(_mm512_castps512_ps256(acc[r][p])) * scale;
      scores[2 * p * n_kv + j + r] = s0;
      max[2 * p] = s0 > max[2 * p] ? s0 : max[2 * p];
      if (2 * p + 1 < n_heads) {
        const float s1 = HorizontalSum(_mm512_extractf32x8_ps(acc[r][p], 1)) * scale;
        scores[(2 * p + 1) * n_kv + j + r] = s1;
        max[2 * p + 1] = s1 > max[2 * p + 1] ? s1 : max[2 * p + 1];
      }
    }
  }
}

// As AccumulateValuesAvx2 for P pairs over dims [d, d + 8C); zero weights masked per half.
template <int P, int C>
__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma,f16c"))) inline void
AccumulateValuesAvx512(const float* scores, int n_heads, const uint16_t* v_cache, int64_t kv_width,
                       int64_t col, int64_t n_kv, int d, float* out, int head_dim) {
  __m512 acc[P][C];
  for (int p = 0; p < P; ++p)
    for (int c = 0; c < C; ++c) acc[p][c] = _mm512_setzero_ps();
  for (int64_t j = 0; j < n_kv; ++j) {
    __mmask16 mask[P];
    __m512 w[P];
    bool any = false;
    for (int p = 0; p < P; ++p) {
      const float a = scores[2 * p * n_kv + j];
      const float b = 2 * p + 1 < n_heads ? scores[(2 * p + 1) * n_kv + j] : 0.0f;
      mask[p] = static_cast<__mmask16>((a != 0.0f ? 0x00ff : 0) | (b != 0.0f ? 0xff00 : 0));
      w[p] = _mm512_insertf32x8(_mm512_set1_ps(a), _mm256_set1_ps(b), 1);
      any = any || mask[p] != 0;
    }
    if (!any) continue;
    const uint16_t* vj = v_cache + j * kv_width + col + d;
    for (int c = 0; c < C; ++c) {
      const __m512 v16 = BroadcastHalves(vj + 8 * c);
      for (int p = 0; p < P; ++p) acc[p][c] = _mm512_mask3_fmadd_ps(w[p], v16, acc[p][c], mask[p]);
    }
  }
  for (int p = 0; p < P; ++p) {
    for (int c = 0; c < C; ++c) {
      _mm256_storeu_ps(out + 2 * p * head_dim + d + 8 * c, _mm512_castps512_ps256(acc[p][c]));
      if (2 * p + 1 < n_heads)
        _mm256_storeu_ps(out + (2 * p + 1) * head_dim + d + 8 * c,
                         _mm512_extractf32x8_ps(acc[p][c], 1));
    }
  }
}

template <int P>
__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma,f16c"))) void GroupAvx512(
    const float* q, int n_heads, const uint16_t* k_cache, const uint16_t* v_cache, int64_t kv_width,
    int64_t col, int64_t n_kv, int head_dim, bool round_q, bool round_p, float* scores,
    float* out) {
  // qp[pair][chunk] = [head 2p's 8 values | head 2p+1's].
  alignas(64) float qp[P][2 * kMaxDim];
  for (int p = 0; p < P; ++p) {
    const int h0 = 2 * p, h1 = std::min(2 * p + 1, n_heads - 1);
    for (int c = 0; c < head_dim / 8; ++c) {
      CopyRoundedToHalf(q + h0 * head_dim + c * 8, 8, round_q, qp[p] + c * 16);
      CopyRoundedToHalf(q + h1 * head_dim + c * 8, 8, round_q, qp[p] + c * 16 + 8);
    }
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  float max[2 * P];
  for (int h = 0; h < 2 * P; ++h) max[h] = -INFINITY;
  constexpr int R = P >= 8 ? 1 : (8 + P - 1) / P;  // R * P >= 8 chains
  int64_t j = 0;
  for (; j + R <= n_kv; j += R)
    ScoreRowsAvx512<P, R>(qp, n_heads, k_cache, kv_width, col, j, n_kv, head_dim, scale, scores,
                          max);
  for (; j < n_kv; ++j)
    ScoreRowsAvx512<P, 1>(qp, n_heads, k_cache, kv_width, col, j, n_kv, head_dim, scale, scores,
                          max);
  for (int h = 0; h < n_heads; ++h) ref::SoftmaxScores(scores + h * n_kv, n_kv, max[h], round_p);
  constexpr int C = 16 / P;  // P * C = 16 accumulators of the 32 zmm registers
  int d = 0;
  for (; d + 8 * C <= head_dim; d += 8 * C)
    AccumulateValuesAvx512<P, C>(scores, n_heads, v_cache, kv_width, col, n_kv, d, out, head_dim);
  for (; d < head_dim; d += 8)
    AccumulateValuesAvx512<P, 1>(scores, n_heads, v_cache, kv_width, col, n_kv, d, out, head_dim);
}

}  // namespace

// Dispatch on the head count so that every loop bound is a constant and the accumulators
// live in registers.
void AttentionGroupF16Avx2(const float* q, int n_heads, const uint16_t* k_cache,
                           const uint16_t* v_cache, int64_t kv_width, int64_t col, int64_t n_kv,
                           int head_dim, bool round_q, bool round_p, float* scores, float* out) {
  switch (n_heads) {
#define BITJIT_GROUP_CASE(H)                                                                  \
  case H:                                                                                     \
    return GroupAvx2<H>(q, k_cache, v_cache, kv_width, col, n_kv, head_dim, round_q, round_p, \
                        scores, out);
    BITJIT_GROUP_CASE(1)
    BITJIT_GROUP_CASE(2)
    BITJIT_GROUP_CASE(3)
    BITJIT_GROUP_CASE(4)
    BITJIT_GROUP_CASE(5)
    BITJIT_GROUP_CASE(6)
    BITJIT_GROUP_CASE(7)
    BITJIT_GROUP_CASE(8)
#undef BITJIT_GROUP_CASE
  }
  Fail("attention kernel: ", n_heads, " heads per call (1..", kMaxHeads, ")");
}

void AttentionGroupF16Avx512(const float* q, int n_heads, const uint16_t* k_cache,
                             const uint16_t* v_cache, int64_t kv_width, int64_t col, int64_t n_kv,
                             int head_dim, bool round_q, bool round_p, float* scores, float* out) {
  switch ((n_heads + 1) / 2) {
#define BITJIT_PAIRS_CASE(P)                                                                    \
  case P:                                                                                       \
    return GroupAvx512<P>(q, n_heads, k_cache, v_cache, kv_width, col, n_kv, head_dim, round_q, \
                          round_p, scores, out);
    BITJIT_PAIRS_CASE(1)
    BITJIT_PAIRS_CASE(2)
    BITJIT_PAIRS_CASE(3)
    BITJIT_PAIRS_CASE(4)
#undef BITJIT_PAIRS_CASE
  }
  Fail("attention kernel: ", n_heads, " heads per call (1..", kMaxHeads, ")");
}

}  // namespace bitjit::kernels
