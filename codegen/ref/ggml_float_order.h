// The order of float additions in bitnet.cpp's attention, as its x86 build computes it: ggml
// and llamafile's tinyBLAS compiled for AVX-512 (../shared/golden/README.md, "Provenance").
//
// Why the order and not only the roundings: on these models attention is close to a hard
// argmax and every BitLinear re-quantizes to int8, so a 1-ulp difference in one score or one
// attention output can flip a later F16 or int8 rounding and move a whole logits row by 1e-2
// (../shared/golden/TOLERANCE.md). Engines that round where bitnet.cpp rounds but add in
// another order agree with it on most rows and miss it on a few; these functions are the
// order itself, written out lane by lane, so that the reference interpreter and every SIMD
// kernel compute exactly what bitnet.cpp computes.
#pragma once

#include <cstdint>

namespace bitjit::ref {

// _mm512_reduce_add_ps: 16 lanes added by halving (l + l+8, then + l+4, + l+2, + l+1).
float ReduceAdd16(const float* lanes);

// ggml_vec_dot_f16 (x and y hold f16 values as floats): blocks of 64 go to 4 accumulators of
// 16 lanes, acc[a][l] = fma(x[i], y[i], acc[a][l]) for i = 64 b + 16 a + l; the accumulators
// are added as (acc0 + acc2) + (acc1 + acc3), their lanes by ReduceAdd16; the n % 64 elements
// after the last block are then added one by one in double.
float GgmlDotF16(const float* x, const float* y, int64_t n);

// tinyBLAS<16> (llamafile's sgemm, F16 x F32): lane l accumulates fma(a[i], b[i], .) over
// i = l, l + 16, ... in order; the lanes are added by ReduceAdd16. tinyBLAS needs n % 16 == 0;
// any other n here reads as padded with zeros, which add nothing.
float TinyBlasDot16(const float* a, const float* b, int64_t n);

// ggml_v_expf for AVX-512: ggml's polynomial expf, bit for bit (not libm's expf).
float GgmlExpf(float x);

// The number of KV cells llama.cpp's cache shows the attention at a step whose last position
// is n_kv - 1: the used cells padded to a multiple of 32 (flash attention off). The padding
// cells are masked (their weight is exactly 0), but they decide where ggml_vec_dot_f16's
// blocks of 64 end in the decode step's P·V products.
int64_t GgmlPaddedKv(int64_t n_kv);

}  // namespace bitjit::ref
