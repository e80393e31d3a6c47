#include "runtime/kernels/attention_avx2.h"

#include <immintrin.h>

#include <cmath>

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

}  // namespace

__attribute__((target("avx2,fma,f16c"))) void AttentionGroupF16Avx2(
    const float* q, int n_heads, const uint16_t* k_cache, const uint16_t* v_cache, int64_t kv_width,
    int64_t col, int64_t n_kv, int head_dim, bool round_q, bool round_p, float* scores,
    float* out) {
  constexpr int kMaxHeads = 8;
  alignas(32) float qv[kMaxHeads][512];
  for (int h = 0; h < n_heads; ++h)
    for (int i = 0; i < head_dim; ++i) {
      const float x = q[h * head_dim + i];
      qv[h][i] = round_q ? RoundToHalf(x) : x;
    }
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  float max[kMaxHeads];
  for (int h = 0; h < n_heads; ++h) max[h] = -INFINITY;
  // Scores: each key row converted once, dotted with every head of the group. Per head the
  // float order is AttentionHeadF16Avx2's.
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
        // Zero weights are skipped, as the one-head kernel does.
        if (scores[h * n_kv + j] == 0.0f) continue;
        float* o = out + h * head_dim + i;
        _mm256_storeu_ps(o, _mm256_fmadd_ps(p[h], v8, _mm256_loadu_ps(o)));
      }
    }
  }
}

__attribute__((target("avx2,fma,f16c"))) void AttentionHeadF16Avx2(
    const float* q, const uint16_t* k_cache, const uint16_t* v_cache, int64_t kv_width, int64_t col,
    int64_t n_kv, int head_dim, bool round_q, bool round_p, float* scores, float* out) {
  alignas(32) float qv[512];
  for (int i = 0; i < head_dim; ++i) qv[i] = round_q ? RoundToHalf(q[i]) : q[i];
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  float max = -INFINITY;
  for (int64_t j = 0; j < n_kv; ++j) {
    const uint16_t* kj = k_cache + j * kv_width + col;
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < head_dim; i += 8) {
      const __m256 k8 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kj + i)));
      acc = _mm256_fmadd_ps(_mm256_load_ps(qv + i), k8, acc);
    }
    scores[j] = HorizontalSum(acc) * scale;
    max = scores[j] > max ? scores[j] : max;
  }
  ref::SoftmaxScores(scores, n_kv, max, round_p);
  for (int i = 0; i < head_dim; i += 8) _mm256_storeu_ps(out + i, _mm256_setzero_ps());
  for (int64_t j = 0; j < n_kv; ++j) {
    if (scores[j] == 0.0f) continue;  // a hard-argmax row: most weights underflow to zero
    const __m256 p = _mm256_set1_ps(scores[j]);
    const uint16_t* vj = v_cache + j * kv_width + col;
    for (int i = 0; i < head_dim; i += 8) {
      const __m256 v8 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(vj + i)));
      _mm256_storeu_ps(out + i, _mm256_fmadd_ps(p, v8, _mm256_loadu_ps(out + i)));
    }
  }
}

}  // namespace bitjit::kernels
