// ggml's Q6_K table blocks and Q8_K activation blocks, byte for byte, and the portable code the
// Q6_K lm_head needs around its kernel: the input quantizer and unpacking.
//
// Q6_K (210 bytes per 256 values): ql[128] low 4 bits, qh[64] high 2 bits, int8 scales[16]
// (one per 16 values), f16 d; value = d · scale_j · (q - 32), q in 0..63. Value 128h + 32k + l
// (half h, quarter k, l < 32) has its low nibble in ql[64h + l + 32(k & 1)] (low nibble for
// k < 2, high for k >= 2) and its high bits at qh[32h + l] >> 2k.
// Q8_K (292 bytes per 256 values): float d, int8 qs[256], int16 bsums[16] (sums of 16 qs).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace bitjit::codegen::q6k {

// ggml's nearest_int: round half to even by adding 1.5·2^23 and reading the mantissa, inline
// (std::nearbyint is a library call here, and quantizing a 2B table calls it ~10^9 times).
// ggml's version is only defined for |v| <= 2^22 - 1; clamping first gives the same answer
// there and a defined one elsewhere (every caller clamps the result to a few bits anyway).
inline int NearestInt(float v) {
  const float val = std::clamp(v, -4194303.0f, 4194303.0f) + 12582912.0f;
  int32_t i;
  std::memcpy(&i, &val, sizeof i);
  return (i & 0x007fffff) - 0x00400000;
}

constexpr int kBlock = 256;
constexpr int kBlockBytes = 210;
constexpr int kQlOffset = 0, kQhOffset = 128, kScalesOffset = 192, kDOffset = 208;
constexpr int kGroups = 16;  // scales per block

constexpr int kQ8KBlockBytes = 292;
constexpr int kQ8KQsOffset = 4, kQ8KBsumsOffset = 260;

// ggml's quantize_row_q8_K_ref: per block, max = the element of largest |x| (with its sign),
// iscale = -127/max, q = min(127, nearest_int(iscale·x)) (round half to even), d = 1/iscale;
// all-zero blocks get d = 0. n must be a multiple of 256.
void QuantizeRowQ8_K(const float* x, int64_t n, uint8_t* blocks);

// The 256 six-bit quants q (0..63) of one Q6_K block, in value order.
void UnpackQ6_K(const uint8_t* block, uint8_t* q);
// The inverse: packs 256 quants (0..63) into ql / qh of `block` (scales and d untouched).
void PackQ6_K(const uint8_t* q, uint8_t* block);

// ggml's dequantize_row_q6_K: y = d · scale_j · (q - 32). n must be a multiple of 256.
void DequantizeRowQ6_K(const uint8_t* blocks, int64_t n, float* y);

}  // namespace bitjit::codegen::q6k
