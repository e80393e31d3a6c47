// The lm_head row kernels of the compiled path (AVX2 + F16C + FMA intrinsics): one row of
// logits over a range of vocabulary rows, so threads can split the vocabulary. Float sums run
// in 8-lane accumulators, a different order than the reference's sequential sum (results
// agree to float rounding; the golden tests hold them to Rule C).
#pragma once

#include <cstdint>

namespace bitjit::kernels {

// logits[v] = x . table[v] for v in [v_begin, v_end); x has n floats (n % 32 == 0 is not
// required), table rows are f16.
void LmHeadF16RowsAvx2(const float* x, int64_t n, const uint16_t* table, int64_t v_begin,
                       int64_t v_end, float* logits);

// Q8_0 table with an already Q8_0-quantized input row (bitnet.cpp's path): per 32-block
// integer dot times both scales.
void LmHeadQ8_0RowsAvx2(const uint8_t* x_q8, int64_t n, const uint8_t* table, int64_t v_begin,
                        int64_t v_end, float* logits);

}  // namespace bitjit::kernels
