// ggml's vec_dot_q6_K_q8_K as bitnet.cpp's x86 build computes it (its AVX2 code, which the
// AVX-512 build runs too): the lm_head of a model whose tied token_embd is Q6_K
// (bitnet.cpp's --quant-embd). tinyBLAS has no Q6_K kernel, so prompt and decode rows both
// come here, with the input quantized to Q8_K (codegen/lmhead/q6k_format.h).
//
// Per block of 256: eight int32 lanes, lane l = sum of scale_{i/16} * (q_i - 32) * x_i over the
// elements i with (i mod 32) / 4 == l (vpmaddubsw / vpmaddwd over 32-byte vectors, the -32
// offset applied per element); then acc_l = fma(d_x * d, (float)lane_l, acc_l) over the blocks
// in order, and the lanes added as hsum_float_8 does (l + l+4, then + l+2, then + l+1).
#pragma once

#include <cstdint>

namespace bitjit::ref {

// One table row of nb Q6_K blocks dotted with nb Q8_K blocks.
float GgmlVecDotQ6K_Q8K(const uint8_t* q6k_row, const uint8_t* q8k, int64_t nb);

}  // namespace bitjit::ref
