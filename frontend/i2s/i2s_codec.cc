#include "frontend/i2s/i2s_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ir/base/error.h"

namespace bitjit::i2s {
namespace {

// Value j of a block sits in byte j % 32 at this shift: values 0-31 in bits 7..6, 32-63 in
// bits 5..4, 64-95 in bits 3..2, 96-127 in bits 1..0.
constexpr int ShiftOf(uint64_t j) {
  return 6 - 2 * static_cast<int>(j / 32);
}

void CheckCount(uint64_t n) {
  if (n == 0 || n % kBlockValues != 0) {
    Fail("I2_S tensor of ", n, " values: the count must be a positive multiple of ", kBlockValues);
  }
}

void CheckData(std::span<const uint8_t> data, uint64_t n) {
  const uint64_t need = TensorBytes(n);
  if (data.size() < need) {
    Fail("I2_S tensor of ", n, " values needs ", need, " bytes, got ", data.size());
  }
}

}  // namespace

uint64_t TensorBytes(uint64_t n) {
  CheckCount(n);
  return n / 4 + kTrailerBytes;
}

void PackWeights(std::span<const int8_t> weights, uint8_t* out) {
  CheckCount(weights.size());
  // Branch-free so the compiler vectorizes it: a model's worth of weights goes through here.
  unsigned bad = 0;
  for (uint64_t b = 0; b < weights.size() / kBlockValues; ++b) {
    const int8_t* w = weights.data() + b * kBlockValues;
    uint8_t* dst = out + b * kBlockBytes;
    // Byte i gathers values i, i+32, i+64, i+96 (one per 2-bit lane).
    for (uint64_t i = 0; i < kBlockBytes; ++i) {
      const auto c0 = static_cast<uint8_t>(w[i] + 1), c1 = static_cast<uint8_t>(w[i + 32] + 1),
                 c2 = static_cast<uint8_t>(w[i + 64] + 1), c3 = static_cast<uint8_t>(w[i + 96] + 1);
      bad |= (c0 > 2) | (c1 > 2) | (c2 > 2) | (c3 > 2);
      dst[i] = static_cast<uint8_t>(c0 << 6 | c1 << 4 | c2 << 2 | c3);
    }
  }
  if (bad) {
    for (int8_t v : weights)
      if (v < -1 || v > 1) Fail("I2_S weight ", int{v}, " is not ternary");
  }
}

void WriteTrailer(float scale, uint8_t* out) {
  std::memset(out, 0, kTrailerBytes);
  std::memcpy(out, &scale, sizeof scale);
}

std::vector<uint8_t> Encode(std::span<const int8_t> weights, float scale) {
  std::vector<uint8_t> out(TensorBytes(weights.size()));
  PackWeights(weights, out.data());
  WriteTrailer(scale, out.data() + weights.size() / 4);
  return out;
}

std::vector<uint8_t> DecodeCodes(std::span<const uint8_t> data, uint64_t n) {
  CheckData(data, n);
  std::vector<uint8_t> codes(n);
  for (uint64_t k = 0; k < n; ++k) {
    const uint64_t j = k % kBlockValues;
    const uint8_t byte = data[(k / kBlockValues) * kBlockBytes + j % 32];
    codes[k] = (byte >> ShiftOf(j)) & 3;
  }
  return codes;
}

std::vector<int8_t> DecodeWeights(std::span<const uint8_t> data, uint64_t n) {
  const std::vector<uint8_t> codes = DecodeCodes(data, n);
  std::vector<int8_t> weights(n);
  for (uint64_t k = 0; k < n; ++k)
    weights[k] = codes[k] == 3 ? 0 : static_cast<int8_t>(codes[k] - 1);
  return weights;
}

float DecodeScale(std::span<const uint8_t> data, uint64_t n) {
  CheckData(data, n);
  float scale;
  std::memcpy(&scale, data.data() + n / 4, sizeof scale);
  return scale;
}

float ConverterInverseScale(std::span<const float> weights) {
  double sum = 0.0;
  for (float w : weights) sum += std::fabs(w);
  const float mean = weights.empty() ? 0.0f : static_cast<float>(sum / weights.size());
  return 1.0f / std::max(mean, 1e-5f);
}

std::vector<float> TernarizeLikeConverter(std::span<const float> weights) {
  const float s = ConverterInverseScale(weights);
  std::vector<float> out(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) out[i] = TernaryOf(weights[i], s) / s;
  return out;
}

Quantized QuantizeTernarized(std::span<const float> weights) {
  Quantized q;
  q.weights.resize(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    const float w = weights[i];
    q.scale = std::max(q.scale, std::fabs(w));
    q.weights[i] = std::fabs(w) < 1e-6f ? 0 : (w > 0 ? 1 : -1);
  }
  return q;
}

}  // namespace bitjit::i2s
