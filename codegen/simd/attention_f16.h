// Attention against an f16 KV cache, the compiled path's kernel: one query head on AVX2 + F16C
// + FMA (which every x86 CPU with AVX-512 also runs), any head_dim up to 512.
//
// It computes exactly what ref::AttentionRowF16Cache computes, bit for bit: bitnet.cpp's
// roundings (q to f16 when asked, softmax output to f16 when asked) and its order of
// additions (codegen/ref/ggml_float_order.h): KQ as ggml_vec_dot_f16 (4 x 16 lanes over blocks
// of 64, a double tail) or, for an f32 q, as tinyBLAS (16 lanes); ggml's softmax with its
// polynomial expf; P.V as ggml_vec_dot_f16 over llama.cpp's padded cells (decode) or as
// tinyBLAS. The lanes of those sums are kept in separate registers or slots; what varies is
// only which of them are computed together (tests/attention_f16_test.cc checks equality).
#pragma once

#include <cstddef>
#include <cstdint>

namespace bitjit::kernels {

// Floats of scratch one call needs for a cache of n_ctx positions.
size_t AttentionScratchFloats(int head_dim, int64_t n_ctx);

// q: head_dim floats; k_cache/v_cache: rows of kv_width halves, this head's kv head at column
// offset `col`; n_kv positions; scratch: AttentionScratchFloats(head_dim, n_kv or more) floats;
// out: head_dim floats.
void AttentionHeadF16Avx2(const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                          int64_t kv_width, int64_t col, int64_t n_kv, int head_dim, bool round_q,
                          bool round_p, float* scratch, float* out);

}  // namespace bitjit::kernels
