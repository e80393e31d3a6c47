// Q6_K as bitnet.cpp's llama-quantize binary writes it. The algorithm is ggml's
// quantize_row_q6_K_ref (codegen/lmhead/table_quantize.h has it in plain float order), but the
// binary bitnet.cpp builds with clang contracts make_qx_quants' weighted sums,
// sumlx += w·x·l and suml2 += w·l·l, and its candidate scales nmax + 0.1·is, into fused
// multiply-adds; a few groups per table then pick another scale. ../shared/golden-more/
// quantize's q6_k case differs in 61 bytes without the fusion and in none with it.
#pragma once

#include <cstdint>

namespace bitjit::cli {

// x: n floats, n a multiple of 256; blocks: n/256 × 210 bytes.
void QuantizeRowQ6_KFused(const float* x, int64_t n, uint8_t* blocks);

}  // namespace bitjit::cli
