// Elementwise epilogues of the compiled path that are not fused into a JIT kernel (AVX2).
#pragma once

#include <cstdint>

namespace bitjit::kernels {

// gate[i] = relu(gate[i])^2 * up[i] for i < n, with relu(x) = x > 0 ? x : 0 (so NaN -> 0,
// as ggml's relu) and the product in that order, (g * g) * up: bit-identical to the scalar
// loop. Branch-free: gate signs are random, and a branch per element mispredicted often
// enough to cost ~7% of prompt time.
void ReluSqrMulAvx2(float* gate, const float* up, int64_t n);

// out[i] = FloatToHalf(x[i]) for i < n (F16C, round to nearest even; same infinities, NaN
// quieting and subnormals as ir/base/half.h): writing K and V rows into the f16 cache.
void FloatsToHalvesF16c(const float* x, int64_t n, uint16_t* out);

// out[i] = ref::Silu(gate[i]) * up[i] (up == nullptr: the SiLU alone), bit-identical: ggml's
// AVX-512 expf emulated lane for lane over its whole range (overflow to inf and subnormal
// results included), then the IEEE division and product. In place when out == gate.
void SiluMulAvx2(const float* gate, const float* up, int64_t n, float* out);

// ref::RopeNormRotate with bitnet numerics, bit-identical: pairs (2i, 2i + 1).
void RopeNormRotateAvx2(float* x, int n_head, int head_dim, const float* cos_t, const float* sin_t);

// ref::RopeNeoxRotate with bitnet numerics, bit-identical (the same fused multiply-adds, 8
// pairs at a time): one row of n_head heads rotated by one position's angles.
void RopeNeoxRotateAvx2(float* x, int n_head, int head_dim, const float* cos_t, const float* sin_t);

}  // namespace bitjit::kernels
