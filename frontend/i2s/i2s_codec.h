// The I2_S tensor format of bitnet.cpp (x86 layout, ../shared/spec/FORMAT.md): ternary weights as
// 2-bit codes c = w + 1 in blocks of 128 values / 32 bytes, followed by a 32-byte trailer whose
// first 4 bytes are the per-tensor float32 scale. Also the converter's quantization rules, so
// that synthetic models are ternarized exactly as BitNet's HF-to-GGUF path does it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace bitjit::i2s {

inline constexpr uint64_t kBlockValues = 128;  // values per block
inline constexpr uint64_t kBlockBytes = 32;    // packed bytes per block
inline constexpr uint64_t kTrailerBytes = 32;  // scale (f32) + 28 unspecified bytes

// Bytes of an I2_S tensor of n values: n/4 packed bytes + the trailer. Throws bitjit::Error
// unless n is a positive multiple of 128.
uint64_t TensorBytes(uint64_t n);

// Packs ternary weights (each -1, 0 or +1; count a multiple of 128) into count/4 bytes at `out`.
// Blocks are independent, so consecutive 128-aligned chunks of a tensor can be packed one at a
// time (streaming). Throws bitjit::Error on a value outside {-1, 0, 1}.
void PackWeights(std::span<const int8_t> weights, uint8_t* out);

// Writes the 32-byte trailer: the scale, then 28 zero bytes. (bitnet.cpp leaves those bytes
// uninitialized; the golden files hold varying garbage there, so zeros are as good as any.)
void WriteTrailer(float scale, uint8_t* out);

// A whole tensor: packed weights + trailer.
std::vector<uint8_t> Encode(std::span<const int8_t> weights, float scale);

// Decoding of a tensor's bytes (`data` must hold at least TensorBytes(n) bytes).
// Codes as stored, 0..3 (3 never occurs in valid files).
std::vector<uint8_t> DecodeCodes(std::span<const uint8_t> data, uint64_t n);
// Weights w = c - 1, with the never-written code 3 read as 0 (as bitnet.cpp's kernels do).
std::vector<int8_t> DecodeWeights(std::span<const uint8_t> data, uint64_t n);
float DecodeScale(std::span<const uint8_t> data, uint64_t n);

// --- The converter's rules ---------------------------------------------------------------

// Step 1, in BitNet's HF-to-GGUF converter: W' = clamp(round(W*s), -1, 1) / s with
// s = 1 / max(mean|W|, 1e-5) (round half to even, as torch.round). Returns s.
float ConverterInverseScale(std::span<const float> weights);
// The ternary value round(w*s) clamped to [-1, 1], half to even (so |w*s| == 0.5 gives 0).
inline int8_t TernaryOf(float w, float inv_scale) {
  const float x = w * inv_scale;
  return static_cast<int8_t>((x > 0.5f) - (x < -0.5f));  // branch-free: the signs are random
}
// W' of step 1 for a whole tensor.
std::vector<float> TernarizeLikeConverter(std::span<const float> weights);

// Step 2, llama-quantize's I2_S quantizer on the (already ternarized) float weights:
// scale = max|W'| over the tensor; w = 0 if |W'| < 1e-6, else the sign of W'.
struct Quantized {
  std::vector<int8_t> weights;
  float scale = 0.0f;
};
Quantized QuantizeTernarized(std::span<const float> weights);

}  // namespace bitjit::i2s
