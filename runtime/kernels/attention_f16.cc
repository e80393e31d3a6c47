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

}  // namespace

__attribute__((target("avx2,fma,f16c"))) void AttentionGroupF16Avx2(
    const float* q, int n_heads, const uint16_t* k_cache, const uint16_t* v_cache, int64_t kv_width,
    int64_t col, int64_t n_kv, int head_dim, bool round_q, bool round_p, float* scores,
    float* out) {
  constexpr int kMaxHeads = 8;
  alignas(32) float qv[kMaxHeads][512];
  for (int h = 0; h < n_heads; ++h) CopyRoundedToHalf(q + h * head_dim, head_dim, round_q, qv[h]);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  float max[kMaxHeads];
  for (int h = 0; h < n_heads; ++h) max[h] = -INFINITY;
  // Scores: each key row converted once, dotted with every head of the group. Per head the
  // float order is that of a one-head call.
  for (int64_t j = 0; j < n_kv; ++j) {
    const uint16_t* kj = k_cache + j * kv_width + col;
    __m256 acc[kMaxHeads];
    for (int h = 0; h < n_heads; ++h) acc[h] = _mm256_setzero_ps();
    for (int i = 0; i < head_dim; i += 8) {
      const __m256 k8 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kj + i)));
      for (int h = 0; h < n_heads; ++h)
        acc[h] = _mm256_fmadd_ps(_mm256_load_ps(qv[h] + i), k8, acc[h]);
    }
    for (int h = 0; h < n_heads; ++h) {
      const float s = HorizontalSum(acc[h]) * scale;
      scores[h * n_kv + j] = s;
      max[h] = s > max[h] ? s : max[h];
    }
  }
  for (int h = 0; h < n_heads; ++h) {
    ref::SoftmaxScores(scores + h * n_kv, n_kv, max[h], round_p);
    for (int i = 0; i < head_dim; i += 8)
      _mm256_storeu_ps(out + h * head_dim + i, _mm256_setzero_ps());
  }
  // Values: each row converted once per block of 8, accumulated into every head's output.
  for (int64_t j = 0; j < n_kv; ++j) {
    const uint16_t* vj = v_cache + j * kv_width + col;
    __m256 p[kMaxHeads];
    bool any = false;
    for (int h = 0; h < n_heads; ++h) {
      p[h] = _mm256_set1_ps(scores[h * n_kv + j]);
      any = any || scores[h * n_kv + j] != 0.0f;
    }
    if (!any) continue;
    for (int i = 0; i < head_dim; i += 8) {
      const __m256 v8 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(vj + i)));
      for (int h = 0; h < n_heads; ++h) {
        // Zero weights (most of a hard-argmax row) are skipped.
        if (scores[h * n_kv + j] == 0.0f) continue;
        float* o = out + h * head_dim + i;
        _mm256_storeu_ps(o, _mm256_fmadd_ps(p[h], v8, _mm256_loadu_ps(o)));
      }
    }
  }
}

// AVX-512 form of AttentionGroupF16Avx2 with the same float order: two heads share a zmm, head
// h in lanes 0-7 and head h + 1 in lanes 8-15, so each 8-lane half does exactly the AVX2
// kernel's FMAs (same lanes, same order) while a K or V row chunk is converted once and
// broadcast to both halves. Zero softmax weights are masked off per half, as the AVX2
// kernel skips them.
__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma,f16c"))) void AttentionGroupF16Avx512(
    const float* q, int n_heads, const uint16_t* k_cache, const uint16_t* v_cache, int64_t kv_width,
    int64_t col, int64_t n_kv, int head_dim, bool round_q, bool round_p, float* scores,
    float* out) {
  constexpr int kMaxPairs = 4;
  const int pairs = (n_heads + 1) / 2;
  const int chunks = head_dim / 8;
  // qp[pair][chunk] = [head 2p's 8 values | head 2p+1's] (an odd last head is paired with
  // itself; its copy's results are dropped).
  alignas(64) float qp[kMaxPairs][512 * 2];
  for (int p = 0; p < pairs; ++p) {
    const int h0 = 2 * p, h1 = std::min(2 * p + 1, n_heads - 1);
    for (int c = 0; c < chunks; ++c) {
      CopyRoundedToHalf(q + h0 * head_dim + c * 8, 8, round_q, qp[p] + c * 16);
      CopyRoundedToHalf(q + h1 * head_dim + c * 8, 8, round_q, qp[p] + c * 16 + 8);
    }
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  float max[2 * kMaxPairs];
  for (int h = 0; h < 2 * kMaxPairs; ++h) max[h] = -INFINITY;
  for (int64_t j = 0; j < n_kv; ++j) {
    const uint16_t* kj = k_cache + j * kv_width + col;
    __m512 acc[kMaxPairs];
    for (int p = 0; p < pairs; ++p) acc[p] = _mm512_setzero_ps();
    for (int c = 0; c < chunks; ++c) {
      const __m256 k8 =
          _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kj + c * 8)));
      const __m512 k16 = _mm512_broadcast_f32x8(k8);
      for (int p = 0; p < pairs; ++p)
        acc[p] = _mm512_fmadd_ps(_mm512_load_ps(qp[p] + c * 16), k16, acc[p]);
    }
    for (int p = 0; p < pairs; ++p) {
      const float s0 = HorizontalSum(_mm512_castps512_ps256(acc[p])) * scale;
      scores[2 * p * n_kv + j] = s0;
      max[2 * p] = s0 > max[2 * p] ? s0 : max[2 * p];
      if (2 * p + 1 < n_heads) {
        const float s1 = HorizontalSum(_mm512_extractf32x8_ps(acc[p], 1)) * scale;
        scores[(2 * p + 1) * n_kv + j] = s1;
        max[2 * p + 1] = s1 > max[2 * p + 1] ? s1 : max[2 * p + 1];
      }
    }
  }
  for (int h = 0; h < n_heads; ++h) ref::SoftmaxScores(scores + h * n_kv, n_kv, max[h], round_p);
  // Values into paired accumulators op[pair][chunk] (same interleaving as qp).
  alignas(64) float op[kMaxPairs][512 * 2];
  for (int p = 0; p < pairs; ++p)
    for (int c = 0; c < chunks; ++c) _mm512_store_ps(op[p] + c * 16, _mm512_setzero_ps());
  for (int64_t j = 0; j < n_kv; ++j) {
    __mmask16 mask[kMaxPairs];
    __m512 w[kMaxPairs];
    bool any = false;
    for (int p = 0; p < pairs; ++p) {
      const float a = scores[2 * p * n_kv + j];
      const float b = 2 * p + 1 < n_heads ? scores[(2 * p + 1) * n_kv + j] : 0.0f;
      mask[p] = static_cast<__mmask16>((a != 0.0f ? 0x00ff : 0) | (b != 0.0f ? 0xff00 : 0));
      w[p] = _mm512_insertf32x8(_mm512_set1_ps(a), _mm256_set1_ps(b), 1);
      any = any || mask[p] != 0;
    }
    if (!any) continue;
    const uint16_t* vj = v_cache + j * kv_width + col;
    for (int c = 0; c < chunks; ++c) {
      const __m256 v8 =
          _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(vj + c * 8)));
      const __m512 v16 = _mm512_broadcast_f32x8(v8);
      for (int p = 0; p < pairs; ++p) {
        float* o = op[p] + c * 16;
        _mm512_store_ps(o, _mm512_mask3_fmadd_ps(w[p], v16, _mm512_load_ps(o), mask[p]));
      }
    }
  }
  for (int p = 0; p < pairs; ++p) {
    for (int c = 0; c < chunks; ++c) {
      std::memcpy(out + 2 * p * head_dim + c * 8, op[p] + c * 16, 8 * sizeof(float));
      if (2 * p + 1 < n_heads)
        std::memcpy(out + (2 * p + 1) * head_dim + c * 8, op[p] + c * 16 + 8, 8 * sizeof(float));
    }
  }
}

}  // namespace bitjit::kernels
