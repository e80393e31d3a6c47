// The lm_head table quantizers of --lm-head q8_0|q6_k, each reproducing its ggml function.
//
// Q6_K: ggml's quantize_row_q6_K_ref (what llama-quantize writes for Q6_K): per group of 16 values,
// make_qx_quants(nmax 32, rmse_type 1) searches 19 candidate scales around -32/max for the one
// minimizing the x²-weighted squared error; the 16 group scales are then quantized to int8 against
// the largest (d = f16(max_scale / -128)) and the values requantized with the int8 scales to q in
// 0..63.
#pragma once

#include <cstdint>

namespace bitjit::lm_head {

// x: n floats, n a multiple of 256; blocks: n/256 × 210 bytes.
void QuantizeRowQ6_K(const float* x, int64_t n, uint8_t* blocks);

// ggml's quantize_row_q8_0_ref for one row of n (a multiple of 32) values, in ggml's layout.
void QuantizeRowQ8_0Table(const float* x, int64_t n, uint8_t* blocks);

}  // namespace bitjit::lm_head
