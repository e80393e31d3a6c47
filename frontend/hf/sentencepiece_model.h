// A SentencePiece tokenizer.model (a serialized sentencepiece ModelProto) as bitnet.cpp's
// converter reads it through SentencePieceProcessor: the pieces with their scores and types,
// trainer_spec.model_type and normalizer_spec.add_dummy_prefix. Other fields are skipped.
//
// A small wire-format reader instead of libprotobuf: bitjit_frontend does not link protobuf
// (only the runtime's plan files use it), generated code would need sentencepiece's .proto,
// and a reader of five fields can bound every length and count itself and say in one line
// what is wrong with a hostile file (a truncated varint, a length past the end, a field of the
// wrong wire type, too many or too long pieces, a piece that is not UTF-8), where libprotobuf
// would only say that parsing failed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/tokenizer/tokenizer.h"

namespace bitjit::hf {

// ModelProto.SentencePiece.Type has the values of GGUF's tokenizer.ggml.token_type (1-6).
using SpmPieceType = TokenType;

struct SpmPiece {
  std::string piece;
  float score = 0.0f;
  SpmPieceType type = SpmPieceType::kNormal;  // the proto's default
};

// TrainerSpec.ModelType values bitjit accepts (llama.cpp's SPM tokenizer runs both).
inline constexpr int32_t kSpmUnigram = 1, kSpmBpe = 2;

struct SentencePieceModel {
  std::vector<SpmPiece> pieces;
  int32_t model_type = kSpmUnigram;  // trainer_spec.model_type (the proto's default)
  bool add_dummy_prefix = true;      // normalizer_spec.add_dummy_prefix (the proto's default)
};

// LLaMA's tokenizer.model is 500 KB; 256K-piece models are a few MB.
inline constexpr uint64_t kMaxSentencePieceModelBytes = uint64_t{64} << 20;
inline constexpr size_t kMaxSentencePieces = size_t{1} << 22;  // convert's vocabulary limit
inline constexpr size_t kMaxPieceBytes = 4096;

// Parses and checks `bytes`: at least one piece, each non-empty, valid UTF-8, at most
// kMaxPieceBytes, unique, with a finite score and a type 1..6; exactly one UNKNOWN piece (as
// SentencePieceProcessor requires); BYTE pieces spelled <0xXX>; model_type UNIGRAM or BPE.
// Throws bitjit::Error "<what>: ..." (one line) for anything else.
SentencePieceModel ParseSentencePieceModel(std::span<const uint8_t> bytes, std::string_view what);

// Reads the file (a regular file of at most kMaxSentencePieceModelBytes) and parses it.
SentencePieceModel ReadSentencePieceModel(const std::string& path);

}  // namespace bitjit::hf
