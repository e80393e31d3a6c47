// The Q8_0 lm_head row kernel of the compiled path (AVX2 intrinsics; the F16 table has a JIT
// kernel in codegen/lmhead): one row of logits over a range of vocabulary rows, so threads can
// split the vocabulary. Float sums run in 8 lanes, as ggml's (results agree with the
// reference to float rounding; the golden tests hold them to Rule C).
#pragma once

#include <cstdint>

namespace bitjit::kernels {

// Q8_0 table with an already Q8_0-quantized input row (bitnet.cpp's path): per 32-block
// integer dot times both scales.
void LmHeadQ8_0RowsAvx2(const uint8_t* x_q8, int64_t n, const uint8_t* table, int64_t v_begin,
                        int64_t v_end, float* logits);

}  // namespace bitjit::kernels
