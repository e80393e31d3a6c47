// HfVocab's SentencePiece path: the vocabulary bitnet.cpp's _set_vocab_sentencepiece builds
// from tokenizer.model, added_tokens.json and config.json's vocab_size.
#include <filesystem>
#include <unordered_set>

#include "frontend/gguf/utf8.h"
#include "frontend/hf/hf_vocab.h"
#include "frontend/hf/sentencepiece_model.h"
#include "ir/base/error.h"

namespace bitjit::hf {
namespace {

constexpr float kAddedScore = -1000.0f;  // added tokens and [PADi] fillers

// What the converter asks SentencePieceProcessor about a piece: is_unknown, is_control,
// is_unused, is_byte. Anything else (NORMAL, USER_DEFINED) is written NORMAL.
int32_t GgufType(SpmPieceType type) {
  switch (type) {
    case SpmPieceType::kUnknown:
    case SpmPieceType::kControl:
    case SpmPieceType::kUnused:
    case SpmPieceType::kByte:
      return static_cast<int32_t>(type);
    default:
      return static_cast<int32_t>(SpmPieceType::kNormal);
  }
}

}  // namespace

void HfVocab::ReadSentencePiece(const std::string& dir, const HfConfig& config) {
  spm_ = true;
  pre_ = "default";  // what the converter's sentencepiece path writes
  const std::string file = dir + "/tokenizer.model";
  const SentencePieceModel model = ReadSentencePieceModel(file);
  const size_t n = static_cast<size_t>(config.n_vocab);
  if (model.pieces.size() > n) {
    Fail(file, ": ", model.pieces.size(), " pieces, more than config.json's vocab_size ", n);
  }
  std::unordered_set<std::string> known;
  const auto add = [&](std::string text, float score, int32_t type) {
    known.insert(text);
    tokens_.push_back(std::move(text));
    scores_.push_back(score);
    types_.push_back(type);
  };
  for (const SpmPiece& p : model.pieces) add(p.piece, p.score, GgufType(p.type));

  // The converter iterates the JSON object's keys in file order (nlohmann sorts them: take the
  // order from the parser) and ignores their ids.
  const std::string added_file = dir + "/added_tokens.json";
  std::error_code ec;
  if (std::filesystem::exists(added_file, ec)) {
    std::vector<std::string> keys;
    const nlohmann::json added =
        ReadJsonFile(added_file, [&](const std::string& key) { keys.push_back(key); });
    if (!added.is_object()) Fail(added_file, ": not a JSON object");
    for (std::string& key : keys) {
      if (known.count(key)) continue;  // already a piece, or a duplicate key
      if (!IsValidUtf8(key)) Fail(added_file, ": a token is not valid UTF-8");
      if (tokens_.size() == n) {
        Fail(added_file, ": the tokens of tokenizer.model and added_tokens.json are more than ",
             "config.json's vocab_size ", n);
      }
      add(std::move(key), kAddedScore, static_cast<int32_t>(SpmPieceType::kUserDefined));
    }
  }
  for (size_t i = 1; tokens_.size() < n; ++i) {
    add("[PAD" + std::to_string(i) + "]", kAddedScore, static_cast<int32_t>(SpmPieceType::kUnused));
  }
}

}  // namespace bitjit::hf
