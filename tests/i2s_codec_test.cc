// The I2_S codec against the spec's layout and against every golden model that bitnet.cpp's
// llama-quantize wrote: decoding then re-encoding must give back the file's bytes.
#include "frontend/i2s/i2s_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "codegen/ref/ternary_ref.h"
#include "frontend/gguf/gguf_file.h"
#include "ir/base/error.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

TEST(I2sCodec, LayoutFollowsTheSpec) {
  // One +1 or -1 at a time in a field of zeros (code 1 = 0b01 everywhere: bytes 0x55): value j
  // of block b lives in byte b*32 + j%32 at shift 6 - 2*(j/32).
  for (uint64_t index : {0u, 1u, 31u, 32u, 63u, 64u, 95u, 96u, 127u, 128u, 200u, 255u}) {
    for (int8_t w : {int8_t{1}, int8_t{-1}}) {
      std::vector<int8_t> weights(256, 0);
      weights[index] = w;
      const std::vector<uint8_t> bytes = i2s::Encode(weights, 0.5f);
      ASSERT_EQ(bytes.size(), 256u / 4 + 32);
      const uint64_t j = index % 128, at = index / 128 * 32 + j % 32;
      const int shift = 6 - 2 * static_cast<int>(j / 32);
      for (uint64_t b = 0; b < 64; ++b) {
        const uint8_t expected =
            b == at ? static_cast<uint8_t>((0x55 & ~(3 << shift)) | ((w + 1) << shift)) : 0x55;
        ASSERT_EQ(bytes[b], expected) << "index " << index << " byte " << b;
      }
      // The engine's reference kernel reads the same weight back.
      for (uint64_t k = 0; k < 256; ++k) ASSERT_EQ(ref::I2sWeight(bytes.data(), k), weights[k]);
    }
  }
}

TEST(I2sCodec, TrailerHoldsTheScaleThenZeros) {
  std::vector<int8_t> weights(128, 1);
  const std::vector<uint8_t> bytes = i2s::Encode(weights, 0.7978846f);
  float scale;
  std::memcpy(&scale, bytes.data() + 32, 4);
  EXPECT_EQ(scale, 0.7978846f);
  EXPECT_EQ(i2s::DecodeScale(bytes, 128), 0.7978846f);
  for (size_t i = 36; i < bytes.size(); ++i) EXPECT_EQ(bytes[i], 0) << i;
}

TEST(I2sCodec, RoundTripsRandomWeights) {
  std::vector<int8_t> weights(128 * 37);
  uint32_t state = 12345;
  for (int8_t& w : weights) {
    state = state * 1664525u + 1013904223u;
    w = static_cast<int8_t>(static_cast<int>(state >> 30) % 3 - 1);
  }
  const std::vector<uint8_t> bytes = i2s::Encode(weights, 1.25f);
  EXPECT_EQ(bytes.size(), i2s::TensorBytes(weights.size()));
  EXPECT_EQ(i2s::DecodeWeights(bytes, weights.size()), weights);
  EXPECT_EQ(i2s::DecodeScale(bytes, weights.size()), 1.25f);
  // Packing chunk by chunk (as the synthesizer streams) gives the same bytes.
  std::vector<uint8_t> streamed(weights.size() / 4);
  for (size_t at = 0; at < weights.size(); at += 256) {
    const size_t n = std::min<size_t>(256, weights.size() - at);
    i2s::PackWeights({weights.data() + at, n}, streamed.data() + at / 4);
  }
  EXPECT_TRUE(std::equal(streamed.begin(), streamed.end(), bytes.begin()));
}

TEST(I2sCodec, CodeThreeDecodesAsZero) {
  std::vector<uint8_t> bytes(32 + 32, 0xFF);  // every code 3
  for (uint8_t c : i2s::DecodeCodes(bytes, 128)) EXPECT_EQ(c, 3);
  for (int8_t w : i2s::DecodeWeights(bytes, 128)) EXPECT_EQ(w, 0);
}

TEST(I2sCodec, RejectsBadInput) {
  std::vector<int8_t> not_ternary(128, 0);
  not_ternary[77] = 2;
  EXPECT_THROW(i2s::Encode(not_ternary, 1.0f), Error);
  EXPECT_THROW(i2s::Encode(std::vector<int8_t>(100, 0), 1.0f), Error);  // not whole blocks
  EXPECT_THROW(i2s::TensorBytes(0), Error);
  EXPECT_THROW(i2s::DecodeWeights(std::vector<uint8_t>(64), 256), Error);  // too few bytes
}

TEST(I2sCodec, ConverterRules) {
  // mean|W| = 1, so s = 1 and W' = clamp(round(W), -1, 1) with ties to even (0.5 -> 0).
  const std::vector<float> w = {0.5f, -0.5f, 1.5f, -1.5f, 0.49f, 0.51f, 2.0f, -1.0f};
  EXPECT_EQ(i2s::ConverterInverseScale(w), 1.0f);
  const std::vector<float> ternarized = i2s::TernarizeLikeConverter(w);
  EXPECT_EQ(ternarized, (std::vector<float>{0, 0, 1, -1, 0, 1, 1, -1}));
  // mean|W| = 0.25: s = 4, W' = +-0.25.
  EXPECT_EQ(i2s::TernarizeLikeConverter(std::vector<float>{0.25f, -0.25f, 0.1f, -0.4f}),
            (std::vector<float>{0.25f, -0.25f, 0.0f, -0.25f}));
  // s has a floor: an all-zero tensor gives s = 1e5, not infinity.
  EXPECT_EQ(i2s::ConverterInverseScale(std::vector<float>(128, 0.0f)), 1.0f / 1e-5f);

  // The quantizer: scale = max|W'|, codes by sign with a 1e-6 dead zone.
  const i2s::Quantized q =
      i2s::QuantizeTernarized(std::vector<float>{0.8f, -0.8f, 0.0f, 5e-7f, -0.8f});
  EXPECT_EQ(q.scale, 0.8f);
  EXPECT_EQ(q.weights, (std::vector<int8_t>{1, -1, 0, 0, -1}));
  const i2s::Quantized q2 = i2s::QuantizeTernarized(ternarized);
  EXPECT_EQ(q2.scale, 1.0f);
  EXPECT_EQ(q2.weights, (std::vector<int8_t>{0, 0, 1, -1, 0, 1, 1, -1}));

  EXPECT_EQ(i2s::TernaryOf(0.5f, 1.0f), 0);
  EXPECT_EQ(i2s::TernaryOf(-0.5f, 1.0f), 0);
  EXPECT_EQ(i2s::TernaryOf(0.50001f, 1.0f), 1);
  EXPECT_EQ(i2s::TernaryOf(-7.0f, 1.0f), -1);
}

// Every I2_S tensor of every golden model: codes are 0..2, decode + re-encode reproduces the
// packed bytes and the scale exactly, and the float path of the quantizer (W' = w * scale)
// gives back the same codes and scale. The weights were N(0,1) ternarized with s = 1/mean|W|,
// so the scale is near E|W| = sqrt(2/pi) and about P(|W| < mean/2) = 31% of codes are zero.
TEST(I2sCodec, GoldenModelsRoundTrip) {
  const auto cases = testing::GoldenCaseNames();
  ASSERT_GE(cases.size(), 4u);
  size_t checked = 0;
  for (const std::string& name : cases) {
    auto file = gguf::GgufFile::Open(testing::GoldenModelPath(name));
    for (const gguf::TensorInfo& t : file->tensors()) {
      if (t.ggml_type() != gguf::GgmlType::kI2_S) continue;
      SCOPED_TRACE(name + " " + std::string(t.name));
      const uint64_t n = t.n_elements();
      ASSERT_EQ(t.data.size(), i2s::TensorBytes(n));
      const std::vector<uint8_t> codes = i2s::DecodeCodes(t.data, n);
      const uint64_t zeros = std::count(codes.begin(), codes.end(), uint8_t{1});
      ASSERT_EQ(std::count_if(codes.begin(), codes.end(), [](uint8_t c) { return c > 2; }), 0);
      const std::vector<int8_t> weights = i2s::DecodeWeights(t.data, n);
      const float scale = i2s::DecodeScale(t.data, n);
      EXPECT_GT(scale, 0.78f);
      EXPECT_LT(scale, 0.82f);
      EXPECT_NEAR(static_cast<double>(zeros) / n, 0.3101, 0.02);

      const std::vector<uint8_t> again = i2s::Encode(weights, scale);
      ASSERT_EQ(std::memcmp(again.data(), t.data.data(), n / 4 + 4), 0);

      std::vector<float> dequantized(n);
      for (uint64_t i = 0; i < n; ++i) dequantized[i] = weights[i] * scale;
      const i2s::Quantized q = i2s::QuantizeTernarized(dequantized);
      EXPECT_EQ(q.scale, scale);
      ASSERT_EQ(q.weights, weights);
      ++checked;
    }
  }
  EXPECT_GE(checked, 4u * 14u);  // 7 I2_S tensors per block, at least 2 blocks per model
}

}  // namespace
}  // namespace bitjit
