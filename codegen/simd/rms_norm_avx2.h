// RMS norm of several rows at once (AVX2), bit-identical to ref::RmsNorm row by row.
//
// bitnet.cpp sums each row's float squares in double, one after another; that chain of
// dependent double adds (~4 cycles each) made RMSNorm 4% of prompt time. The order inside a
// row cannot change without changing results, but rows' chains can run side by side: four
// rows go into the four double lanes of one vector (a 4x4 transpose per 4 columns), so each
// lane still adds its own row's squares in order, and two such vectors (8 rows) keep two
// chains in flight.
#pragma once

#include <cstdint>

namespace bitjit::kernels {

// y[r][i] = x[r][i] * scale_r, then (when weight is not null) * weight[i], for rows r < rows
// of n floats (row stride n), scale_r = 1 / sqrt((float)(sum_i (double)(x*x) / n) + eps).
void RmsNormRowsAvx2(const float* x, int64_t rows, int64_t n, float eps, const float* weight,
                     float* y);

}  // namespace bitjit::kernels
