// Attention against an f16 KV cache, the compiled path's kernels: the query heads of one kv
// group (grouped-query attention), one or several, on AVX2 + F16C + FMA or on AVX-512 with two
// heads per register, all with the same results. Same roundings as ref::AttentionRowF16Cache
// (q to f16 when asked, float softmax with a double sum, softmax output to f16 when asked);
// float sums in 8 lanes. Scores take several key rows at a time (independent FMA chains) and
// the output stays in registers over all value rows, blocked by dims; neither changes any
// lane's order of operations (tests/attention_f16_test.cc checks it against a model of it).
#pragma once

#include <cstdint>

namespace bitjit::kernels {

// n_heads (1..8) query heads that share one kv head: q and out hold the heads one after
// another (n_heads x head_dim floats); k_cache/v_cache: rows of kv_width halves, the group's
// kv head at column offset `col`; n_kv positions; scores: n_heads x n_kv floats of scratch.
// head_dim must be a multiple of 8 (at most 512). Each K and V row is converted from f16 once
// for the whole group, and each head's result is bit-identical to a call with that head alone.
void AttentionGroupF16Avx2(const float* q, int n_heads, const uint16_t* k_cache,
                           const uint16_t* v_cache, int64_t kv_width, int64_t col, int64_t n_kv,
                           int head_dim, bool round_q, bool round_p, float* scores, float* out);

// The same on AVX-512 (F + DQ + VL), bit-identical to it: two heads per zmm, one in each
// 8-lane half, so every half repeats the AVX2 kernel's FMAs for its head.
void AttentionGroupF16Avx512(const float* q, int n_heads, const uint16_t* k_cache,
                             const uint16_t* v_cache, int64_t kv_width, int64_t col, int64_t n_kv,
                             int head_dim, bool round_q, bool round_p, float* scores, float* out);

}  // namespace bitjit::kernels
