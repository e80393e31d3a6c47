// The safetensors reader: well-formed files read back exactly; every malformed header field is a
// one-line bitjit::Error naming the problem; random corruption of a valid file never crashes.
#include "frontend/hf/safetensors_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "ir/base/error.h"
#include "ir/base/half.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"
#include "tests/testing/safetensors_writer.h"

namespace bitjit {
namespace {

using testing::StTensor;

std::vector<StTensor> SampleTensors() {
  std::vector<uint8_t> f16(6 * 2);
  const float halves[6] = {1.0f, -2.5f, 0.0f, 65504.0f, 0.125f, -0.0f};
  for (int i = 0; i < 6; ++i) {
    const uint16_t h = FloatToHalf(halves[i]);
    std::memcpy(f16.data() + 2 * i, &h, 2);
  }
  return {
      {"model.norm.weight", "F32", {3}, testing::F32Bytes({1.0f, -0.5f, 3.25f})},
      {"model.embed_tokens.weight", "BF16", {2, 2}, testing::Bf16Bytes({1.0f, -2.0f, 0.5f, 96.0f})},
      {"lm_head.weight", "F16", {2, 3}, f16},
      {"packed", "U8", {1, 4}, {0x00, 0x55, 0xAA, 0xFF}},
  };
}

// A 0 dimension is legal (PyTorch writes empty tensors): no data, and no floats from it.
TEST(Safetensors, EmptyTensorsHaveNoDataAndNoFloats) {
  const std::vector<uint8_t> bytes = testing::SafetensorsBytes({
      {"a", "F32", {0}, {}},
      {"b", "F16", {3, 0}, {}},
      {"c", "BF16", {0, 2}, {}},
      {"d", "U8", {0}, {}},
      {"e", "F32", {1}, testing::F32Bytes({2.0f})},
  });
  auto f = hf::SafetensorsFile::FromBuffer(bytes);
  for (const char* name : {"a", "b", "c"}) {
    SCOPED_TRACE(name);
    const hf::SafetensorsTensor* t = f->Find(name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->n_elements, 0u);
    EXPECT_TRUE(t->data.empty());
    EXPECT_TRUE(hf::ToFloats(*t).empty());
  }
  EXPECT_THROW(hf::ToFloats(*f->Find("d")), Error);  // still not a float tensor
  EXPECT_EQ(hf::ToFloats(*f->Find("e")), std::vector<float>{2.0f});
}

TEST(Safetensors, ReadsWhatWasWritten) {
  const std::vector<uint8_t> bytes = testing::SafetensorsBytes(SampleTensors());
  auto f = hf::SafetensorsFile::FromBuffer(bytes);
  ASSERT_EQ(f->tensors().size(), 4u);
  // Sorted by name, as the safetensors library's keys() lists them.
  EXPECT_EQ(f->tensors()[0].name, "lm_head.weight");
  EXPECT_EQ(f->tensors()[3].name, "packed");
  const hf::SafetensorsTensor* norm = f->Find("model.norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(hf::ToFloats(*norm), (std::vector<float>{1.0f, -0.5f, 3.25f}));
  const hf::SafetensorsTensor* embd = f->Find("model.embed_tokens.weight");
  EXPECT_EQ(embd->shape, (std::vector<uint64_t>{2, 2}));
  EXPECT_EQ(hf::ToFloats(*embd), (std::vector<float>{1.0f, -2.0f, 0.5f, 96.0f}));
  EXPECT_EQ(hf::ToFloats(*f->Find("lm_head.weight")),
            (std::vector<float>{1.0f, -2.5f, 0.0f, 65504.0f, 0.125f, -0.0f}));
  const hf::SafetensorsTensor* packed = f->Find("packed");
  EXPECT_EQ(packed->dtype, hf::Dtype::kU8);
  EXPECT_EQ(packed->data[2], 0xAA);
  EXPECT_NE(testing::ExpectError([&] { hf::ToFloats(*packed); }).find("dtype U8"),
            std::string::npos);
  EXPECT_EQ(f->Find("missing"), nullptr);

  testing::TempDir dir;
  testing::WriteSafetensors(dir.File("m.safetensors"), SampleTensors());
  auto mapped = hf::SafetensorsFile::Open(dir.File("m.safetensors"));
  EXPECT_EQ(hf::ToFloats(*mapped->Find("model.norm.weight")), hf::ToFloats(*norm));
}

// The file: an 8-byte length, then `header` as given (not padded), then `data`.
std::vector<uint8_t> Raw(const std::string& header, size_t data_bytes = 16,
                         uint64_t declared = UINT64_MAX) {
  const uint64_t n = declared == UINT64_MAX ? header.size() : declared;
  std::string text(8, '\0');
  for (int i = 0; i < 8; ++i) text[i] = static_cast<char>(n >> (8 * i));
  text += header;
  text.append(data_bytes, '\0');
  return std::vector<uint8_t>(text.begin(), text.end());
}

std::string ErrorOf(const std::vector<uint8_t>& bytes) {
  return testing::ExpectError([&] { hf::SafetensorsFile::FromBuffer(bytes, "bad.safetensors"); });
}

TEST(Safetensors, MalformedHeadersAreOneLineErrors) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const struct {
    std::vector<uint8_t> bytes;
    const char* expect;
  } cases[] = {
      {{1, 2, 3}, "too short"},
      {Raw("{}", 0, uint64_t{1} << 40), "header length"},
      {Raw("{}", 0, 1000), "runs past the end"},
      {Raw("{\"a\": ", 0), "not valid JSON"},
      {Raw(deep, 0), "nested deeper"},
      {Raw("[1, 2]"), "not a JSON object"},
      {Raw(R"({"t": 5})"), "is not an object"},
      {Raw(R"({"t": {"dtype": "F32", "shape": [4]}})"), "lacks dtype, shape or data_offsets"},
      {Raw(R"({"t": {"dtype": "Q4", "shape": [4], "data_offsets": [0, 16]}})"), "not supported"},
      {Raw(R"({"t": {"dtype": 7, "shape": [4], "data_offsets": [0, 16]}})"), "not a string"},
      {Raw(R"({"t": {"dtype": "F32", "shape": 4, "data_offsets": [0, 16]}})"), "shape"},
      {Raw(R"({"t": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}})"),
       "non-negative integer"},
      {Raw(R"({"t": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 16]}})"),
       "non-negative integer"},
      {Raw(R"({"t": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1], "data_offsets": [0, 4]}})"),
       "at most 8 dims"},
      {Raw(R"({"t": {"dtype": "F32", "shape": [1099511627775, 1099511627775],
                     "data_offsets": [0, 16]}})"),
       "overflows"},
      {Raw(R"({"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 17]}})"), "out of range"},
      {Raw(R"({"t": {"dtype": "F32", "shape": [4], "data_offsets": [8, 4]}})"), "before begin"},
      {Raw(R"({"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}})"),
       "8 data bytes for 4 F32 values"},
      {Raw(R"({"t": {"dtype": "F32", "shape": [4], "data_offsets": [0]}})"), "[begin, end]"},
      {Raw(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},
               "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})"),
       "overlap"},
      {Raw(R"({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},
               "a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}})"),
       "'a' appears twice"},
      {Raw(R"({"__metadata__": {"format": 1}})"), "is not a string"},
  };
  for (const auto& c : cases) {
    const std::string message = ErrorOf(c.bytes);
    EXPECT_NE(message.find(c.expect), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_LE(message.size(), 400u) << message;
  }
  // A well-formed minimal file: metadata of strings, one empty tensor, zero data bytes.
  auto ok = hf::SafetensorsFile::FromBuffer(
      Raw(R"({"__metadata__": {"format": "pt"}, "e": {"dtype": "F32", "shape": [0],
              "data_offsets": [0, 0]}})",
          0));
  EXPECT_EQ(ok->tensors().size(), 1u);
  EXPECT_EQ(ok->tensors()[0].n_elements, 0u);
}

// Fuzz-style: truncations and random byte changes of a valid file (in the header and in its
// length field) either read or fail with bitjit::Error; whatever reads is within the buffer.
TEST(Safetensors, CorruptedFilesNeverCrash) {
  const std::vector<uint8_t> good = testing::SafetensorsBytes(SampleTensors());
  std::mt19937_64 rng(20261202);
  int errors = 0, reads = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::vector<uint8_t> bytes = good;
    switch (iter % 4) {
      case 0:
        bytes.resize(rng() % good.size());
        break;
      case 1:
        for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k)
          bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
        break;
      case 2:  // the header length
        bytes[rng() % 8] = static_cast<uint8_t>(rng());
        break;
      case 3: {  // a digit or quote of the JSON
        const size_t at = 8 + rng() % (good.size() - 8 - 24);
        bytes[at] = "0123456789\"[]{},:-e."[rng() % 20];
        break;
      }
    }
    try {
      auto f = hf::SafetensorsFile::FromBuffer(bytes);
      for (const hf::SafetensorsTensor& t : f->tensors()) {
        ASSERT_GE(t.data.data(), bytes.data());
        ASSERT_LE(t.data.data() + t.data.size(), bytes.data() + bytes.size());
        if (t.dtype == hf::Dtype::kF32 || t.dtype == hf::Dtype::kF16 ||
            t.dtype == hf::Dtype::kBF16) {
          EXPECT_EQ(hf::ToFloats(t).size(), t.n_elements);
        }
      }
      ++reads;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      ++errors;
    }
  }
  EXPECT_GT(errors, 1000);
  EXPECT_GT(reads, 10);  // changes in the padding or in tensor data still read
}

TEST(Safetensors, FilesThatAreNotThere) {
  testing::TempDir dir;
  EXPECT_NE(testing::ExpectError([&] {
              hf::SafetensorsFile::Open(dir.File("none"));
            }).find("cannot open"),
            std::string::npos);
  EXPECT_NE(testing::ExpectError([&] {
              hf::SafetensorsFile::Open(dir.path());
            }).find("not a regular file"),
            std::string::npos);
}

}  // namespace
}  // namespace bitjit
