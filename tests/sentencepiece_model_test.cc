// The tokenizer.model reader (frontend/hf/sentencepiece_model.h): a model written by the test's
// encoder reads back field for field (unknown fields skipped), and broken or hostile bytes are
// one-line bitjit::Errors that name the problem, never a crash or an unbounded allocation.
#include "frontend/hf/sentencepiece_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "ir/base/error.h"
#include "tests/testing/cli.h"
#include "tests/testing/sentencepiece_writer.h"

namespace bitjit {
namespace {

using hf::ParseSentencePieceModel;
using hf::SentencePieceModel;
using hf::SpmPieceType;
using testing::SpModelSpec;
using testing::SpPiece;

SpModelSpec SmallSpec() {
  SpModelSpec spec;
  spec.pieces = {{"<unk>", 0.0f, 2}, {"<s>", 0.0f, 3}, {"</s>", 0.0f, 3}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    spec.pieces.push_back({name, 0.0f, 6});
  }
  spec.pieces.push_back({"\xE2\x96\x81the", -1.0f, 1});
  spec.pieces.push_back({"\xC3\xA9t\xC3\xA9", -2.5f, 0});  // no type field: NORMAL
  spec.pieces.push_back({"<user>", 0.0f, 4});
  spec.pieces.push_back({"<unused>", 0.0f, 5});
  spec.model_type = 2;
  spec.add_dummy_prefix = false;
  return spec;
}

std::string ErrorOf(const std::vector<uint8_t>& bytes) {
  try {
    ParseSentencePieceModel(bytes, "m.model");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void ExpectError(const std::vector<uint8_t>& bytes, const std::string& needle) {
  const std::string err = ErrorOf(bytes);
  EXPECT_NE(err.find(needle), std::string::npos) << "got: '" << err << "'";
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  EXPECT_TRUE(err.starts_with("m.model: ")) << err;
}

TEST(SentencePieceModel, ReadsWhatWasWritten) {
  const SpModelSpec spec = SmallSpec();
  std::vector<uint8_t> bytes = testing::SentencePieceModelBytes(spec);
  // Fields the reader does not know are skipped: self_test_data (4, a message), a varint, a
  // fixed64 and a fixed32 at the top level.
  testing::PutBytes(&bytes, 4,
                    "\x0A\x03"
                    "abc");
  testing::PutTag(&bytes, 99, 0);
  testing::PutVarint(&bytes, 1234567);
  testing::PutTag(&bytes, 100, 1);
  bytes.insert(bytes.end(), 8, 0xEE);
  testing::PutFixed32(&bytes, 101, 7);
  const SentencePieceModel m = ParseSentencePieceModel(bytes, "m.model");
  ASSERT_EQ(m.pieces.size(), spec.pieces.size());
  for (size_t i = 0; i < m.pieces.size(); ++i) {
    EXPECT_EQ(m.pieces[i].piece, spec.pieces[i].piece) << i;
    EXPECT_EQ(m.pieces[i].score, spec.pieces[i].score) << i;
    EXPECT_EQ(static_cast<int32_t>(m.pieces[i].type),
              spec.pieces[i].type == 0 ? 1 : spec.pieces[i].type)
        << i;
  }
  EXPECT_EQ(m.model_type, hf::kSpmBpe);
  EXPECT_FALSE(m.add_dummy_prefix);
}

TEST(SentencePieceModel, DefaultsAndRepeatedMessages) {
  // Without trainer_spec / normalizer_spec the proto's defaults: UNIGRAM, add_dummy_prefix.
  std::vector<uint8_t> bytes;
  testing::PutPiece(&bytes, testing::PieceFields({"<unk>", 0.0f, 2}));
  SentencePieceModel m = ParseSentencePieceModel(bytes, "m.model");
  EXPECT_EQ(m.model_type, hf::kSpmUnigram);
  EXPECT_TRUE(m.add_dummy_prefix);
  // A message that occurs twice merges: the later scalar wins.
  std::vector<uint8_t> a, b;
  testing::PutTag(&a, 3, 0);
  testing::PutVarint(&a, 2);
  testing::PutTag(&b, 4, 0);
  testing::PutVarint(&b, 9);
  testing::PutBytes(&bytes, 2, {reinterpret_cast<const char*>(a.data()), a.size()});
  testing::PutBytes(&bytes, 2, {reinterpret_cast<const char*>(b.data()), b.size()});
  m = ParseSentencePieceModel(bytes, "m.model");
  EXPECT_EQ(m.model_type, hf::kSpmBpe);
}

std::vector<uint8_t> WithUnk(std::vector<uint8_t> tail) {
  std::vector<uint8_t> bytes;
  testing::PutPiece(&bytes, testing::PieceFields({"<unk>", 0.0f, 2}));
  bytes.insert(bytes.end(), tail.begin(), tail.end());
  return bytes;
}

std::vector<uint8_t> OnePiece(const SpPiece& p) {
  std::vector<uint8_t> bytes;
  testing::PutPiece(&bytes, testing::PieceFields(p));
  return WithUnk(bytes);
}

TEST(SentencePieceModel, BrokenWireFormatIsOneLineError) {
  ExpectError({}, "no pieces");
  ExpectError(WithUnk({0x0A, 0x80}), "a varint runs past the end");
  ExpectError(WithUnk({0x0A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}),
              "longer than 10 bytes");
  ExpectError(WithUnk({0x0A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02}),
              "overflows 64 bits");
  ExpectError(WithUnk({0x0A, 0x05, 'a'}), "a field of 5 bytes runs past the end (1 left)");
  // A length near 2^64 must not wrap the bounds check.
  ExpectError(WithUnk({0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}),
              "runs past the end");
  ExpectError(WithUnk({0x08, 0x01}), "field 1 (pieces) has wire type 0, expected 2");
  ExpectError(WithUnk({0x10, 0x01}), "field 2 (trainer_spec) has wire type 0, expected 2");
  ExpectError(WithUnk({0x1D, 0, 0, 0, 0}), "field 3 (normalizer_spec) has wire type 5");
  ExpectError(WithUnk({0x2B}), "(a group, which ModelProto has not)");
  ExpectError(WithUnk({0x2E}), "(not a protobuf wire type)");
  ExpectError(WithUnk({0x02, 0x00}), "field number 0 is not a valid protobuf field number");
  ExpectError(WithUnk({0x29, 1, 2, 3}), "a fixed-size field runs past the end");
  // Inside a piece.
  ExpectError(WithUnk({0x0A, 0x02, 0x10, 0x01}), "piece 1: field 2 (score) has wire type 0");
  ExpectError(WithUnk({0x0A, 0x02, 0x0D, 0x00}), "piece 1: field 1 (piece) has wire type 5");
  ExpectError(WithUnk({0x0A, 0x03, 0x15, 0x00, 0x00}), "piece 1: a fixed-size field runs past");
  ExpectError(WithUnk({0x0A, 0x02, 0x18, 0x07}), "piece 1: type 7 is not a SentencePiece type");
  ExpectError(WithUnk({0x0A, 0x02, 0x18, 0x00}), "type 0 is not a SentencePiece type");
  ExpectError(WithUnk({0x0A, 0x03, 0x0A, 0x05, 'a'}), "piece 1: a field of 5 bytes runs past");
  // trainer_spec and normalizer_spec.
  ExpectError(WithUnk({0x12, 0x02, 0x18, 0x03}), "trainer_spec: model_type 3 is not one bitjit");
  ExpectError(WithUnk({0x12, 0x02, 0x18, 0x04}), "model_type 4");
  ExpectError(WithUnk({0x12, 0x01, 0x18}), "trainer_spec: a varint runs past the end");
  ExpectError(WithUnk({0x1A, 0x02, 0x1D, 0x00}), "normalizer_spec: field 3 (add_dummy_prefix)");
}

TEST(SentencePieceModel, BadPiecesAreOneLineErrors) {
  ExpectError(OnePiece({"", 0.0f, 1}), "piece 1 is empty");
  ExpectError(OnePiece({"a\xC3", 0.0f, 1}), "piece 1 is not valid UTF-8");
  ExpectError(OnePiece({"\xED\xA0\x80", 0.0f, 1}), "not valid UTF-8");  // a surrogate
  ExpectError(OnePiece({"x", NAN, 1}), "piece 1 has score nan");
  ExpectError(OnePiece({"x", INFINITY, 1}), "piece 1 has score inf");
  ExpectError(OnePiece({"<unk>", 0.0f, 1}), "piece 1 is the same string as piece 0");
  ExpectError(OnePiece({"<0xzz>", 0.0f, 6}), "piece 1 is a byte piece not spelled <0xXX>");
  ExpectError(OnePiece({"<0x0a>", 0.0f, 6}), "not spelled <0xXX>");
  ExpectError(OnePiece({"<unk2>", 0.0f, 2}), "2 unknown pieces");
  ExpectError(testing::SentencePieceModelBytes({{{"a", 0.0f, 1}}}), "0 unknown pieces");
  ExpectError(OnePiece({std::string(hf::kMaxPieceBytes + 1, 'a'), 0.0f, 1}),
              "4097 bytes, more than the 4096 a piece may have");
  EXPECT_EQ(ErrorOf(OnePiece({std::string(hf::kMaxPieceBytes, 'a'), 0.0f, 1})), "");
}

TEST(SentencePieceModel, OversizedFileIsRefusedBeforeReading) {
  testing::TempDir tmp;
  const std::string path = tmp.File("tokenizer.model");
  std::ofstream(path).put('x');
  std::filesystem::resize_file(path, hf::kMaxSentencePieceModelBytes + 1);  // sparse
  try {
    hf::ReadSentencePieceModel(path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than the 67108864 a tokenizer.model may have"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(hf::ReadSentencePieceModel(tmp.File("absent.model")), Error);
}

// Every prefix of a valid model, and random byte edits: a model or a one-line Error (ASan /
// UBSan builds see any out-of-bounds read).
TEST(SentencePieceModel, TruncationsAndByteEditsNeverCrash) {
  const std::vector<uint8_t> good = testing::SentencePieceModelBytes(SmallSpec());
  int errors = 0;
  const auto check = [&](const std::vector<uint8_t>& bytes) {
    const std::string err = ErrorOf(bytes);
    if (!err.empty()) {
      ++errors;
      EXPECT_EQ(err.find('\n'), std::string::npos) << err;
    }
  };
  for (size_t n = 0; n < good.size(); ++n) check({good.begin(), good.begin() + n});
  std::mt19937 rng(5);
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> bytes = good;
    for (int k = 0, edits = 1 + static_cast<int>(rng() % 4); k < edits; ++k)
      bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    check(bytes);
  }
  // Most truncations cut a piece or lose the trainer_spec's tail; nearly all must fail.
  EXPECT_GT(errors, static_cast<int>(good.size()) / 2);
}

}  // namespace
}  // namespace bitjit
