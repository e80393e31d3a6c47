// Attention against an f16 KV cache for a block of queries that share one kv head: the heads
// of a GQA group, or consecutive prompt tokens of one sequence. Each K and V row is loaded and
// converted to f32 once for the whole block, where the one-head kernel (attention_f16.h)
// converts it once per query; AVX-512 (F + BW + VL) adds 16 lanes per instruction.
//
// Every query's output is bit-identical to AttentionHeadF16Avx2's (and so to
// ref::AttentionRowF16Cache): a 16-lane zmm holds exactly the lanes that kernel keeps in two
// ymm registers, every lane accumulates the same products in the same order, and the lanes
// are reduced by the same code (attention_f16_parts.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace bitjit::kernels {

constexpr int kAttentionBlockQueries = 4;

struct AttentionQuery {
  const float* q;  // head_dim floats
  float* out;      // head_dim floats
  int64_t n_kv;    // positions 0 .. n_kv - 1 attended to
};

// Floats of scratch one block call needs for a cache of n_ctx positions.
size_t AttentionBlockScratchFloats(int head_dim, int64_t n_ctx);

// n_queries in 1..kAttentionBlockQueries queries against the kv head at column `col` of
// k_cache / v_cache (rows of kv_width halves). With round_p (ggml's P.V over padded cells)
// all queries must have the same n_kv. Needs AVX-512 F + BW + VL and F16C.
void AttentionBlockF16Avx512(const AttentionQuery* queries, int n_queries, const uint16_t* k_cache,
                             const uint16_t* v_cache, int64_t kv_width, int64_t col, int head_dim,
                             bool round_q, bool round_p, float* scratch);

}  // namespace bitjit::kernels
