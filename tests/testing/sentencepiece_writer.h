// Writes SentencePiece tokenizer.model files for tests (and the fuzzer's seeds): a ModelProto
// in protobuf's wire format with the fields bitjit reads (pieces, trainer_spec.model_type,
// normalizer_spec.add_dummy_prefix), plus the encoding helpers the hostile-input tests use to
// build broken ones.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bitjit::testing {

struct SpPiece {
  std::string piece;
  float score = 0.0f;
  int32_t type = 1;  // NORMAL; 0 leaves the field out (the proto's default applies)
};

struct SpModelSpec {
  std::vector<SpPiece> pieces;
  int32_t model_type = 2;  // BPE, as LLaMA's
  bool add_dummy_prefix = true;
};

std::vector<uint8_t> SentencePieceModelBytes(const SpModelSpec& spec);

// Protobuf wire-format pieces.
void PutVarint(std::vector<uint8_t>* out, uint64_t v);
void PutTag(std::vector<uint8_t>* out, uint32_t field, uint32_t wire);
void PutBytes(std::vector<uint8_t>* out, uint32_t field, std::string_view bytes);
void PutFixed32(std::vector<uint8_t>* out, uint32_t field, uint32_t bits);
// One ModelProto.pieces entry (field 1) holding `piece_fields` (an encoded SentencePiece).
void PutPiece(std::vector<uint8_t>* out, const std::vector<uint8_t>& piece_fields);
std::vector<uint8_t> PieceFields(const SpPiece& p);

}  // namespace bitjit::testing
