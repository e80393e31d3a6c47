#include "frontend/hf/sentencepiece_model.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "frontend/gguf/utf8.h"
#include "ir/base/error.h"

namespace bitjit::hf {
namespace {

// Protobuf wire types (the encoding of a field's value).
enum Wire : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kGroupStart = 3, kFixed32 = 5 };

// The ModelProto fields read here (sentencepiece_model.proto's numbers).
constexpr uint32_t kModelPieces = 1, kModelTrainerSpec = 2, kModelNormalizerSpec = 3;
constexpr uint32_t kPieceText = 1, kPieceScore = 2, kPieceType = 3;
constexpr uint32_t kTrainerModelType = 3;
constexpr uint32_t kNormalizerAddDummyPrefix = 3;

// A cursor over one message's bytes; every read is bounds-checked and fails with `where`.
class WireReader {
 public:
  WireReader(std::span<const uint8_t> bytes, std::string where)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()), where_(std::move(where)) {}

  bool AtEnd() const { return p_ == end_; }

  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) Fail(where_, ": a varint runs past the end");
      const uint8_t b = *p_++;
      if (shift == 63) {  // the tenth byte, the last there may be, holds bit 63 only
        if (b & 0x80) Fail(where_, ": a varint is longer than 10 bytes");
        if (b > 1) Fail(where_, ": a varint overflows 64 bits");
      }
      v |= uint64_t{b & 0x7Fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    return v;  // not reached: the tenth byte ends the loop or fails
  }

  // The next field's number and wire type.
  std::pair<uint32_t, uint32_t> Tag() {
    const uint64_t key = Varint();
    const uint64_t field = key >> 3;
    if (field == 0 || field > (uint64_t{1} << 29) - 1) {
      Fail(where_, ": field number ", field, " is not a valid protobuf field number");
    }
    return {static_cast<uint32_t>(field), static_cast<uint32_t>(key & 7)};
  }

  std::span<const uint8_t> Bytes() {
    const uint64_t n = Varint();
    if (n > static_cast<uint64_t>(end_ - p_)) {
      Fail(where_, ": a field of ", n, " bytes runs past the end (", end_ - p_, " left)");
    }
    const std::span<const uint8_t> out(p_, n);
    p_ += n;
    return out;
  }

  uint32_t Fixed32() {
    uint32_t v;
    Take(&v, 4);
    return v;
  }

  void Skip(uint32_t field, uint32_t wire) {
    switch (wire) {
      case kVarint:
        Varint();
        return;
      case kFixed64: {
        uint64_t v;
        Take(&v, 8);
        return;
      }
      case kLen:
        Bytes();
        return;
      case kFixed32:
        Fixed32();
        return;
      default:
        Fail(where_, ": field ", field, " has wire type ", wire,
             wire == kGroupStart || wire == kGroupStart + 1 ? " (a group, which ModelProto has not)"
                                                            : " (not a protobuf wire type)");
    }
  }

  // Fails unless a known field has the wire type its declaration gives it.
  void Expect(uint32_t field, uint32_t wire, uint32_t want, const char* name) const {
    if (wire != want) {
      Fail(where_, ": field ", field, " (", name, ") has wire type ", wire, ", expected ", want);
    }
  }

  const std::string& where() const { return where_; }

 private:
  void Take(void* out, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) Fail(where_, ": a fixed-size field runs past the end");
    std::memcpy(out, p_, n);  // the file is little-endian, as x86
    p_ += n;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  std::string where_;
};

SpmPiece ParsePiece(std::span<const uint8_t> bytes, const std::string& where) {
  WireReader r(bytes, where);
  SpmPiece piece;
  while (!r.AtEnd()) {
    const auto [field, wire] = r.Tag();
    if (field == kPieceText) {
      r.Expect(field, wire, kLen, "piece");
      const std::span<const uint8_t> text = r.Bytes();
      if (text.size() > kMaxPieceBytes) {
        Fail(where, ": ", text.size(), " bytes, more than the ", kMaxPieceBytes,
             " a piece may have");
      }
      piece.piece.assign(reinterpret_cast<const char*>(text.data()), text.size());
    } else if (field == kPieceScore) {
      r.Expect(field, wire, kFixed32, "score");
      const uint32_t bits = r.Fixed32();
      std::memcpy(&piece.score, &bits, 4);
    } else if (field == kPieceType) {
      r.Expect(field, wire, kVarint, "type");
      const uint64_t type = r.Varint();
      if (type < 1 || type > 6) Fail(where, ": type ", type, " is not a SentencePiece type (1-6)");
      piece.type = static_cast<SpmPieceType>(type);
    } else {
      r.Skip(field, wire);
    }
  }
  return piece;
}

// The one varint field `field` of an embedded message (trainer_spec, normalizer_spec): each
// occurrence is passed to `take`, the other fields skipped. Repeated occurrences of the
// message merge into one (protobuf's rule), so the last value wins.
template <typename Take>
void ReadVarintField(std::span<const uint8_t> bytes, const std::string& where, uint32_t want,
                     const char* name, Take take) {
  WireReader r(bytes, where);
  while (!r.AtEnd()) {
    const auto [field, wire] = r.Tag();
    if (field == want) {
      r.Expect(field, wire, kVarint, name);
      take(r.Varint());
    } else {
      r.Skip(field, wire);
    }
  }
}

void ParseTrainerSpec(std::span<const uint8_t> bytes, const std::string& where,
                      SentencePieceModel* m) {
  ReadVarintField(bytes, where, kTrainerModelType, "model_type", [&](uint64_t type) {
    if (type != kSpmUnigram && type != kSpmBpe) {
      Fail(where, ": model_type ", type,
           " is not one bitjit converts (UNIGRAM 1 or BPE 2; WORD 3 and CHAR 4 models are not "
           "what llama.cpp's SentencePiece tokenizer runs)");
    }
    m->model_type = static_cast<int32_t>(type);
  });
}

void ParseNormalizerSpec(std::span<const uint8_t> bytes, const std::string& where,
                         SentencePieceModel* m) {
  ReadVarintField(bytes, where, kNormalizerAddDummyPrefix, "add_dummy_prefix",
                  [&](uint64_t v) { m->add_dummy_prefix = v != 0; });
}

bool IsByteToken(std::string_view s) {
  const auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  return s.size() == 6 && s.starts_with("<0x") && hex(s[3]) && hex(s[4]) && s[5] == '>';
}

// What SentencePieceProcessor checks on load, and what a GGUF vocabulary needs.
void CheckPieces(const SentencePieceModel& m, std::string_view what) {
  if (m.pieces.empty()) Fail(what, ": no pieces (not a SentencePiece model?)");
  std::unordered_map<std::string_view, size_t> first;
  size_t n_unknown = 0;
  for (size_t i = 0; i < m.pieces.size(); ++i) {
    const SpmPiece& p = m.pieces[i];
    if (p.piece.empty()) Fail(what, ": piece ", i, " is empty");
    if (!IsValidUtf8(p.piece)) Fail(what, ": piece ", i, " is not valid UTF-8");
    if (!std::isfinite(p.score)) Fail(what, ": piece ", i, " has score ", p.score);
    // (The piece is not quoted: it may hold a newline.)
    if (const auto [it, fresh] = first.emplace(p.piece, i); !fresh) {
      Fail(what, ": piece ", i, " is the same string as piece ", it->second);
    }
    if (p.type == SpmPieceType::kUnknown) ++n_unknown;
    if (p.type == SpmPieceType::kByte && !IsByteToken(p.piece)) {
      Fail(what, ": piece ", i, " is a byte piece not spelled <0xXX>");
    }
  }
  if (n_unknown != 1) Fail(what, ": ", n_unknown, " unknown pieces (SentencePiece needs one)");
}

}  // namespace

SentencePieceModel ParseSentencePieceModel(std::span<const uint8_t> bytes, std::string_view what) {
  if (bytes.size() > kMaxSentencePieceModelBytes) {
    Fail(what, ": ", bytes.size(), " bytes, more than the ", kMaxSentencePieceModelBytes,
         " a tokenizer.model may have");
  }
  SentencePieceModel m;
  WireReader r(bytes, std::string(what));
  while (!r.AtEnd()) {
    const auto [field, wire] = r.Tag();
    if (field == kModelPieces) {
      r.Expect(field, wire, kLen, "pieces");
      if (m.pieces.size() == kMaxSentencePieces) {
        Fail(what, ": more than ", kMaxSentencePieces, " pieces");
      }
      const std::string where = std::string(what) + ": piece " + std::to_string(m.pieces.size());
      m.pieces.push_back(ParsePiece(r.Bytes(), where));
    } else if (field == kModelTrainerSpec) {
      r.Expect(field, wire, kLen, "trainer_spec");
      ParseTrainerSpec(r.Bytes(), std::string(what) + ": trainer_spec", &m);
    } else if (field == kModelNormalizerSpec) {
      r.Expect(field, wire, kLen, "normalizer_spec");
      ParseNormalizerSpec(r.Bytes(), std::string(what) + ": normalizer_spec", &m);
    } else {
      r.Skip(field, wire);
    }
  }
  CheckPieces(m, what);
  return m;
}

SentencePieceModel ReadSentencePieceModel(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) Fail(path, " is missing or not a regular file");
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxSentencePieceModelBytes) {
    Fail(path, ": ", size, " bytes, more than the ", kMaxSentencePieceModelBytes,
         " a tokenizer.model may have");
  }
  std::vector<uint8_t> bytes(size);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    Fail("cannot read ", path);
  }
  return ParseSentencePieceModel(bytes, path);
}

}  // namespace bitjit::hf
