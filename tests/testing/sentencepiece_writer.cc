#include "tests/testing/sentencepiece_writer.h"

#include <cstring>

namespace bitjit::testing {

void PutVarint(std::vector<uint8_t>* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<uint8_t>(v));
}

void PutTag(std::vector<uint8_t>* out, uint32_t field, uint32_t wire) {
  PutVarint(out, (uint64_t{field} << 3) | wire);
}

void PutBytes(std::vector<uint8_t>* out, uint32_t field, std::string_view bytes) {
  PutTag(out, field, 2);
  PutVarint(out, bytes.size());
  out->insert(out->end(), bytes.begin(), bytes.end());
}

void PutFixed32(std::vector<uint8_t>* out, uint32_t field, uint32_t bits) {
  PutTag(out, field, 5);
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<uint8_t>(bits >> (8 * i)));
}

std::vector<uint8_t> PieceFields(const SpPiece& p) {
  std::vector<uint8_t> out;
  PutBytes(&out, 1, p.piece);
  uint32_t bits;
  std::memcpy(&bits, &p.score, 4);
  PutFixed32(&out, 2, bits);
  if (p.type != 0) {
    PutTag(&out, 3, 0);
    PutVarint(&out, static_cast<uint64_t>(p.type));
  }
  return out;
}

void PutPiece(std::vector<uint8_t>* out, const std::vector<uint8_t>& piece_fields) {
  PutBytes(out, 1, {reinterpret_cast<const char*>(piece_fields.data()), piece_fields.size()});
}

std::vector<uint8_t> SentencePieceModelBytes(const SpModelSpec& spec) {
  std::vector<uint8_t> out;
  for (const SpPiece& p : spec.pieces) PutPiece(&out, PieceFields(p));
  // trainer_spec: model_type (3), vocab_size (4) and byte_fallback (35), as trainers write them.
  std::vector<uint8_t> trainer;
  PutTag(&trainer, 3, 0);
  PutVarint(&trainer, static_cast<uint64_t>(spec.model_type));
  PutTag(&trainer, 4, 0);
  PutVarint(&trainer, spec.pieces.size());
  PutTag(&trainer, 35, 0);
  PutVarint(&trainer, 1);
  PutBytes(&out, 2, {reinterpret_cast<const char*>(trainer.data()), trainer.size()});
  // normalizer_spec: name (1), add_dummy_prefix (3).
  std::vector<uint8_t> normalizer;
  PutBytes(&normalizer, 1, "identity");
  PutTag(&normalizer, 3, 0);
  PutVarint(&normalizer, spec.add_dummy_prefix ? 1 : 0);
  PutBytes(&out, 3, {reinterpret_cast<const char*>(normalizer.data()), normalizer.size()});
  return out;
}

}  // namespace bitjit::testing
