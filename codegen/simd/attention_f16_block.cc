#include "codegen/simd/attention_f16_block.h"

#include "codegen/simd/attention_f16.h"
#include "codegen/simd/attention_f16_parts.h"
#include "ir/base/error.h"

#define BITJIT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

namespace bitjit::kernels {
namespace {

using namespace attention_parts;  // NOLINT: the kernel is written in its parts

// The zero-masked forms with every lane set: the same instructions, without GCC 12's false
// maybe-uninitialized warnings on the plain intrinsics' undefined pass-through.
constexpr __mmask16 kAll16 = 0xFFFF;

BITJIT_AVX512 inline __m512 Halves16(const uint16_t* p) {
  return _mm512_maskz_cvtph_ps(kAll16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

BITJIT_AVX512 inline __m512 Halves16(const uint16_t* p, __mmask16 lanes) {
  return _mm512_maskz_cvtph_ps(kAll16, _mm256_maskz_loadu_epi16(lanes, p));
}

// Per query: where its prepared q, scores, P.V slots and reduced slots live in the scratch.
struct QueryScratch {
  float* qv;
  float* scores;
  float* slots;
  float* reduced;
};

// ReduceAdd16 of each of v[0..15] at once, by a transposed tree whose every addition pairs the
// lanes ReduceAdd16 pairs (l + l+8, then + l+4, + l+2, + l+1): lane i of the result is the sum
// of v[(i % 4) * 4 + i / 4].
BITJIT_AVX512 inline __m512 ReduceAdd16x16(const __m512* v) {
  __m512 w[8], x[4], y[2];
  for (int i = 0; i < 8; ++i) {  // l + l+8: two vectors' 8-lane halves side by side
    w[i] = _mm512_add_ps(_mm512_maskz_shuffle_f32x4(kAll16, v[2 * i], v[2 * i + 1], 0x44),
                         _mm512_maskz_shuffle_f32x4(kAll16, v[2 * i], v[2 * i + 1], 0xEE));
  }
  for (int i = 0; i < 4; ++i) {  // l + l+4: one 128-bit block per vector
    x[i] = _mm512_add_ps(_mm512_maskz_shuffle_f32x4(kAll16, w[2 * i], w[2 * i + 1], 0x88),
                         _mm512_maskz_shuffle_f32x4(kAll16, w[2 * i], w[2 * i + 1], 0xDD));
  }
  for (int i = 0; i < 2; ++i) {  // l + l+2, within blocks
    y[i] = _mm512_add_ps(_mm512_shuffle_ps(x[2 * i], x[2 * i + 1], 0x44),
                         _mm512_shuffle_ps(x[2 * i], x[2 * i + 1], 0xEE));
  }
  return _mm512_add_ps(_mm512_shuffle_ps(y[0], y[1], 0x88),  // l + l+1
                       _mm512_shuffle_ps(y[0], y[1], 0xDD));
}

// Where row r of a group of 16 goes so that ReduceAdd16x16 returns the rows in order.
constexpr int TreeSlot(int r) {
  return (r % 4) * 4 + r / 4;
}

BITJIT_AVX512 inline float MaxLane(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float m = lanes[0];
  for (float l : lanes) m = l > m ? l : m;
  return m;
}

// KQ for every query of the block, each K row converted once: ggml_vec_dot_f16 (the four
// 16-lane accumulators of DotGgml are zmm 0-3; its double tail) or tinyBLAS<16> (one zmm, its
// tail lanes merge-masked). The lanes of 16 rows are reduced together; queries past their n_kv
// compute scores nobody keeps.
template <int NQ>
BITJIT_AVX512 void Scores(const QueryScratch* qs, const AttentionQuery* queries, const uint16_t* k,
                          int64_t kv_width, int64_t n_max, int d, bool ggml, float* max) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const __m512 vscale = _mm512_set1_ps(scale);
  const int blocked = ggml ? d & ~(kGgmlSlots - 1) : d & ~15;
  const __mmask16 tail = static_cast<__mmask16>((1u << (d - blocked)) - 1);
  const bool double_tail = ggml && blocked < d;
  __m512 part[NQ][16];
  __m512 vmax[NQ];
  for (auto& m : vmax) m = _mm512_set1_ps(-INFINITY);
  for (int64_t j0 = 0; j0 < n_max; j0 += 16) {
    for (int r = 0; r < 16; ++r) {
      const int slot = TreeSlot(r);
      if (j0 + r >= n_max) {
        for (int x = 0; x < NQ; ++x) part[x][slot] = _mm512_setzero_ps();
        continue;
      }
      const uint16_t* kj = k + (j0 + r) * kv_width;
      if (ggml) {
        __m512 acc[NQ][4];
        for (auto& a : acc)
          for (auto& c : a) c = _mm512_setzero_ps();
        for (int i = 0; i < blocked; i += kGgmlSlots) {
          __m512 kc[4];
          for (int c = 0; c < 4; ++c) kc[c] = Halves16(kj + i + 16 * c);
          for (int x = 0; x < NQ; ++x)
            for (int c = 0; c < 4; ++c)
              acc[x][c] = _mm512_fmadd_ps(kc[c], _mm512_loadu_ps(qs[x].qv + i + 16 * c), acc[x][c]);
        }
        for (int x = 0; x < NQ; ++x) {
          part[x][slot] = _mm512_add_ps(_mm512_add_ps(acc[x][0], acc[x][2]),
                                        _mm512_add_ps(acc[x][1], acc[x][3]));
        }
      } else {
        __m512 acc[NQ];
        for (auto& a : acc) a = _mm512_setzero_ps();
        for (int i = 0; i < blocked; i += 16) {
          const __m512 kc = Halves16(kj + i);
          for (int x = 0; x < NQ; ++x)
            acc[x] = _mm512_fmadd_ps(kc, _mm512_loadu_ps(qs[x].qv + i), acc[x]);
        }
        if (tail != 0) {
          const __m512 kc = Halves16(kj + blocked, tail);
          for (int x = 0; x < NQ; ++x) {
            acc[x] = _mm512_mask3_fmadd_ps(kc, _mm512_maskz_loadu_ps(tail, qs[x].qv + blocked),
                                           acc[x], tail);
          }
        }
        for (int x = 0; x < NQ; ++x) part[x][slot] = acc[x];
      }
    }
    for (int x = 0; x < NQ; ++x) {
      const int64_t valid = std::min<int64_t>(16, queries[x].n_kv - j0);
      if (valid <= 0) continue;
      const __m512 sums = ReduceAdd16x16(part[x]);
      float* out = qs[x].scores + j0;
      if (double_tail) {  // ggml's tail after the blocks, in double, row by row
        alignas(64) float lanes[16];
        _mm512_store_ps(lanes, sums);
        for (int r = 0; r < valid; ++r) {
          const uint16_t* kj = k + (j0 + r) * kv_width;
          double sum = lanes[r];
          for (int i = blocked; i < d; ++i) sum += static_cast<double>(qs[x].qv[i] * Half(kj + i));
          out[r] = static_cast<float>(sum) * scale;
          max[x] = out[r] > max[x] ? out[r] : max[x];
        }
        continue;
      }
      const auto keep = static_cast<__mmask16>((1u << valid) - 1);
      const __m512 s = _mm512_mul_ps(sums, vscale);
      _mm512_mask_storeu_ps(out, keep, s);
      // max(s, m) keeps m where s is NaN, as the one-head kernel's s > m ? s : m does.
      vmax[x] = _mm512_mask_max_ps(vmax[x], keep, s, vmax[x]);
    }
  }
  if (!double_tail) {
    for (int x = 0; x < NQ; ++x) max[x] = MaxLane(vmax[x]);
  }
}

// SlotPass of the one-head kernel for the block: slot s of every query accumulates
// fma(p_j, v_j, .) over its positions j = s mod kSlots in order, zero weights skipped; C
// chunks of 16 dims from d0 (the last one masked to `last` when kMasked), each V chunk
// converted once for all queries.
template <int kSlots, int NQ, int C, bool kMasked>
BITJIT_AVX512 void SlotPass(const QueryScratch* qs, const uint16_t* v, int64_t kv_width,
                            int64_t n_pos, int d0, __mmask16 last, int stride) {
  for (int s = 0; s < kSlots; ++s) {
    __m512 acc[NQ][C];
    for (auto& a : acc)
      for (auto& c : a) c = _mm512_setzero_ps();
    for (int64_t j = s; j < n_pos; j += kSlots) {
      const uint16_t* vj = v + j * kv_width + d0;
      __m512 vc[C];
      for (int c = 0; c < C; ++c)
        vc[c] = kMasked && c == C - 1 ? Halves16(vj + 16 * c, last) : Halves16(vj + 16 * c);
      for (int x = 0; x < NQ; ++x) {
        // A zero weight leaves the slot as it is (merge mask), as the one-head kernel skips it:
        // 0 * inf would be NaN, and -0 + 0 * v would be +0.
        const __m512 px = _mm512_set1_ps(qs[x].scores[j]);
        const __mmask16 nonzero = _mm512_cmp_ps_mask(px, _mm512_setzero_ps(), _CMP_NEQ_UQ);
        for (int c = 0; c < C; ++c)
          acc[x][c] = _mm512_mask3_fmadd_ps(px, vc[c], acc[x][c], nonzero);
      }
    }
    for (int x = 0; x < NQ; ++x) {
      float* at = qs[x].slots + s * stride + d0;
      for (int c = 0; c < C; ++c) {
        if (kMasked && c == C - 1) {
          _mm512_mask_storeu_ps(at + 16 * c, last, acc[x][c]);
        } else {
          _mm512_storeu_ps(at + 16 * c, acc[x][c]);
        }
      }
    }
  }
}

template <int kSlots, int NQ>
BITJIT_AVX512 void AccumulateSlots(const QueryScratch* qs, const uint16_t* v, int64_t kv_width,
                                   int64_t n_pos, int d, int stride) {
  int d0 = 0;
  for (; d0 + 64 <= d; d0 += 64)
    SlotPass<kSlots, NQ, 4, false>(qs, v, kv_width, n_pos, d0, 0, stride);
  for (; d0 + 16 <= d; d0 += 16)
    SlotPass<kSlots, NQ, 1, false>(qs, v, kv_width, n_pos, d0, 0, stride);
  if (d0 < d) {
    const auto last = static_cast<__mmask16>((1u << (d - d0)) - 1);
    SlotPass<kSlots, NQ, 1, true>(qs, v, kv_width, n_pos, d0, last, stride);
  }
}

template <int NQ>
BITJIT_AVX512 void AttentionBlock(const AttentionQuery* queries, const uint16_t* k,
                                  const uint16_t* v, int64_t kv_width, int d, bool round_q,
                                  bool round_p, float* scratch) {
  int64_t n_max = 0;
  for (int x = 0; x < NQ; ++x) n_max = std::max(n_max, queries[x].n_kv);
  const int stride = static_cast<int>(RoundUp(d, 8));
  const size_t per_query = AttentionScratchFloats(d, n_max);
  QueryScratch qs[NQ];
  float max[NQ];
  for (int x = 0; x < NQ; ++x) {
    float* base = scratch + x * per_query;
    qs[x] = {base, base + kMaxDim, base + kMaxDim + ScoresFloats(n_max), nullptr};
    qs[x].reduced = qs[x].slots + kGgmlSlots * stride;
    PrepareQuery(queries[x].q, d, round_q, qs[x].qv);
    max[x] = -INFINITY;
  }
  Scores<NQ>(qs, queries, k, kv_width, n_max, d, round_q, max);
  for (int x = 0; x < NQ; ++x) {
    Softmax(qs[x].scores, queries[x].n_kv, max[x], round_p);
    // Positions past this query's n_kv weigh 0 in the block's P.V passes.
    for (int64_t j = queries[x].n_kv; j < n_max; ++j) qs[x].scores[j] = 0.0f;
  }

  if (!round_p) {  // tinyBLAS
    AccumulateSlots<kTinyBlasSlots, NQ>(qs, v, kv_width, n_max, d, stride);
    for (int x = 0; x < NQ; ++x)
      ReduceSlots<kTinyBlasSlots>(qs[x].slots, stride, d, queries[x].out);
    return;
  }
  // ggml_vec_dot_f16 over llama.cpp's padded cells (every query has n_max positions).
  const int64_t blocked = ref::GgmlPaddedKv(n_max) & ~int64_t{kGgmlSlots - 1};
  const int64_t slotted = std::min(blocked, n_max);
  if (slotted > 0) AccumulateSlots<kGgmlSlots, NQ>(qs, v, kv_width, slotted, d, stride);
  for (int x = 0; x < NQ; ++x) {
    if (slotted > 0) {
      ReduceSlots<kGgmlSlots>(qs[x].slots, stride, d, qs[x].reduced);
    } else {
      for (int i = 0; i < d; ++i) qs[x].reduced[i] = 0.0f;  // no whole block: the sum is +0
    }
    DoubleTail(qs[x].reduced, qs[x].scores, v, kv_width, blocked, n_max, d, queries[x].out);
  }
}

}  // namespace

size_t AttentionBlockScratchFloats(int head_dim, int64_t n_ctx) {
  return kAttentionBlockQueries * AttentionScratchFloats(head_dim, n_ctx);
}

void AttentionBlockF16Avx512(const AttentionQuery* queries, int n_queries, const uint16_t* k_cache,
                             const uint16_t* v_cache, int64_t kv_width, int64_t col, int head_dim,
                             bool round_q, bool round_p, float* scratch) {
  if (head_dim <= 0 || head_dim > kMaxDim) {
    Fail("attention kernel: head_dim ", head_dim, " (1..512)");
  }
  if (n_queries < 1 || n_queries > kAttentionBlockQueries) {
    Fail("attention block kernel: ", n_queries, " queries (1..", kAttentionBlockQueries, ")");
  }
  for (int x = 0; x < n_queries; ++x) {
    if (queries[x].n_kv < 1) Fail("attention block kernel: a query attends to no position");
    if (round_p && queries[x].n_kv != queries[0].n_kv) {
      Fail("attention block kernel: ggml's P.V needs one n_kv for the whole block");
    }
  }
  const uint16_t* k = k_cache + col;
  const uint16_t* v = v_cache + col;
  switch (n_queries) {
    case 1:
      return AttentionBlock<1>(queries, k, v, kv_width, head_dim, round_q, round_p, scratch);
    case 2:
      return AttentionBlock<2>(queries, k, v, kv_width, head_dim, round_q, round_p, scratch);
    case 3:
      return AttentionBlock<3>(queries, k, v, kv_width, head_dim, round_q, round_p, scratch);
    default:
      return AttentionBlock<4>(queries, k, v, kv_width, head_dim, round_q, round_p, scratch);
  }
}

}  // namespace bitjit::kernels
