// Attention against an f16 KV cache, the compiled path's kernels: one query head (AVX2 + F16C
// + FMA), or all query heads of one kv group (AVX2, or AVX-512 with two heads per register),
// all with the same results. Same roundings as ref::AttentionRowF16Cache (q to f16 when asked,
// float softmax with a double sum, softmax output to f16 when asked); float sums in 8 lanes.
#pragma once

#include <cstdint>

namespace bitjit::kernels {

// q: head_dim floats; k_cache/v_cache: rows of kv_width halves, this head's kv group at
// column offset `col`; n_kv positions; scores: n_kv floats of scratch; out: head_dim floats.
// head_dim must be a multiple of 8.
void AttentionHeadF16Avx2(const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                          int64_t kv_width, int64_t col, int64_t n_kv, int head_dim, bool round_q,
                          bool round_p, float* scores, float* out);

// The same for n_heads (1..8) query heads that share one kv head (grouped-query attention):
// q and out hold the heads one after another (n_heads x head_dim floats), scores n_heads x
// n_kv floats of scratch. Each K and V row is converted from f16 once for the whole group;
// every head's result is bit-identical to AttentionHeadF16Avx2's.
void AttentionGroupF16Avx2(const float* q, int n_heads, const uint16_t* k_cache,
                           const uint16_t* v_cache, int64_t kv_width, int64_t col, int64_t n_kv,
                           int head_dim, bool round_q, bool round_p, float* scores, float* out);

// The same on AVX-512 (F + DQ + VL), bit-identical to it: two heads per zmm, one in each
// 8-lane half, so every half repeats the one-head kernel's FMAs. n_heads: 1..8.
void AttentionGroupF16Avx512(const float* q, int n_heads, const uint16_t* k_cache,
                             const uint16_t* v_cache, int64_t kv_width, int64_t col, int64_t n_kv,
                             int head_dim, bool round_q, bool round_p, float* scores, float* out);

}  // namespace bitjit::kernels
