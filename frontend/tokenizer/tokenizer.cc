#include "frontend/tokenizer/tokenizer.h"

#include <glog/logging.h>

#include <cmath>
#include <limits>
#include <unordered_map>

#include "frontend/tokenizer/bpe.h"
#include "frontend/tokenizer/byte_unicode.h"
#include "frontend/tokenizer/special_tokens.h"
#include "frontend/tokenizer/spm.h"
#include "ir/base/error.h"

namespace bitjit {
namespace {

constexpr char kModelKey[] = "tokenizer.ggml.model";
constexpr char kTokensKey[] = "tokenizer.ggml.tokens";
constexpr char kTokenTypeKey[] = "tokenizer.ggml.token_type";
constexpr char kMergesKey[] = "tokenizer.ggml.merges";
constexpr char kPreKey[] = "tokenizer.ggml.pre";
constexpr char kBosKey[] = "tokenizer.ggml.bos_token_id";
constexpr char kEosKey[] = "tokenizer.ggml.eos_token_id";
constexpr char kEotKey[] = "tokenizer.ggml.eot_token_id";
constexpr char kChatTemplateKey[] = "tokenizer.chat_template";
constexpr char kAddBosKey[] = "tokenizer.ggml.add_bos_token";
constexpr char kScoresKey[] = "tokenizer.ggml.scores";
constexpr char kUnkKey[] = "tokenizer.ggml.unknown_token_id";
constexpr char kAddSpacePrefixKey[] = "tokenizer.ggml.add_space_prefix";

// The Llama-3 vocabulary as Meta ships it (and the 2B-4T file stores it).
constexpr size_t kLlama3VocabSize = 128256;
constexpr int32_t kLlama3BosId = 128000;
constexpr char kLlama3Bos[] = "<|begin_of_text|>";

std::vector<TokenType> ReadTokenTypes(const gguf::GgufFile& file, size_t n_tokens) {
  const gguf::Value* value = file.Find(kTokenTypeKey);
  // llama.cpp treats every token as NORMAL when the key is absent.
  if (value == nullptr) return std::vector<TokenType>(n_tokens, TokenType::kNormal);
  const gguf::Array& array = value->AsArray(kTokenTypeKey);
  if (array.element_type != gguf::ValueType::kI32 && array.element_type != gguf::ValueType::kU32) {
    Fail(kTokenTypeKey, " holds ", gguf::ValueTypeName(array.element_type),
         " elements, expected int32");
  }
  if (array.count != n_tokens) {
    Fail(kTokenTypeKey, " has ", array.count, " entries for ", n_tokens, " tokens");
  }
  std::vector<int32_t> raw = gguf::ArrayElements<int32_t>(array);
  std::vector<TokenType> types(n_tokens);
  for (size_t i = 0; i < n_tokens; ++i) {
    if (raw[i] < 0 || raw[i] > static_cast<int32_t>(TokenType::kByte)) {
      Fail(kTokenTypeKey, "[", i, "] = ", raw[i], " is not a token type (0..6)");
    }
    types[i] = static_cast<TokenType>(raw[i]);
  }
  return types;
}

// An optional token-id key; -1 when absent. Throws when present but not a valid id.
int32_t ReadTokenId(const gguf::GgufFile& file, std::string_view key, size_t n_tokens) {
  if (file.Find(key) == nullptr) return -1;
  const uint64_t id = file.GetU64(key);
  if (id >= n_tokens) Fail(key, " = ", id, " is out of range for ", n_tokens, " tokens");
  return static_cast<int32_t>(id);
}

// SPM scores: one float32 per token. NaN would make the merge order depend on the heap's
// layout, so it is refused; infinities order like any other score.
std::vector<float> ReadScores(const gguf::GgufFile& file, size_t n_tokens) {
  const gguf::Value* value = file.Find(kScoresKey);
  if (value == nullptr) {
    Fail("missing key ", kScoresKey, " (a sentencepiece vocabulary merges by score)");
  }
  const gguf::Array& array = value->AsArray(kScoresKey);
  if (array.element_type != gguf::ValueType::kF32) {
    Fail(kScoresKey, " holds ", gguf::ValueTypeName(array.element_type),
         " elements, expected float32");
  }
  if (array.count != n_tokens) {
    Fail(kScoresKey, " has ", array.count, " entries for ", n_tokens, " tokens");
  }
  std::vector<float> scores = gguf::ArrayElements<float>(array);
  for (size_t i = 0; i < n_tokens; ++i) {
    if (std::isnan(scores[i])) Fail(kScoresKey, "[", i, "] is NaN");
  }
  return scores;
}

PreTokenizerKind ResolveKind(const gguf::GgufFile& file, std::span<const std::string_view> tokens) {
  if (const gguf::Value* pre = file.Find(kPreKey)) {
    const std::string_view name = pre->AsString(kPreKey);
    // The names llama.cpp gives the Llama-3 rule: convert-hf-to-gguf writes llama-bpe for
    // Llama3-8B-1.58, falcon3 for Falcon3-*-1.58bit and falcon_e for Falcon-E.
    for (std::string_view llama3 : {"llama-bpe", "llama3", "llama-v3", "falcon3", "falcon_e"})
      if (name == llama3) return PreTokenizerKind::kLlama3;
    if (name == "default") return PreTokenizerKind::kDefault;
    Fail("unknown ", kPreKey, " '", name,
         "' (bitjit knows llama-bpe, llama3, llama-v3, falcon3, falcon_e and default; "
         "--pre-tokenizer chooses one)");
  }
  // No key: bitnet.cpp would use the fallback, but a Llama-3 vocabulary was trained with the
  // Llama-3 rule, so use it (spec/TOKENIZER.md, "The official 2B-4T file has no ...pre").
  if (tokens.size() == kLlama3VocabSize && tokens[kLlama3BosId] == kLlama3Bos) {
    return PreTokenizerKind::kLlama3;
  }
  return PreTokenizerKind::kDefault;
}

}  // namespace

PreTokenizerKind ParsePreTokenizerKind(std::string_view name) {
  if (name.empty() || name == "auto") return PreTokenizerKind::kAuto;
  if (name == "llama3") return PreTokenizerKind::kLlama3;
  if (name == "default") return PreTokenizerKind::kDefault;
  Fail("unknown pre-tokenizer '", name, "' (expected llama3, default or auto)");
}

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::FromGguf(const gguf::GgufFile& file, PreTokenizerKind kind) {
  if (file.Find(kModelKey) == nullptr) Fail("missing key ", kModelKey);
  const std::string_view model = file.GetString(kModelKey);
  if (model != "gpt2" && model != "llama") {
    Fail("unsupported ", kModelKey, " '", model,
         "': bitjit reads byte-level BPE ('gpt2') and sentencepiece ('llama') only");
  }
  const bool spm = model == "llama";
  const std::vector<std::string_view> tokens = file.GetStringArray(kTokensKey);
  if (tokens.empty()) Fail(kTokensKey, " is empty");
  if (tokens.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    Fail(kTokensKey, " has ", tokens.size(), " tokens, more than int32 ids can hold");
  }
  std::vector<std::string_view> merges;
  if (!spm) {
    if (file.Find(kMergesKey) == nullptr) Fail("missing key ", kMergesKey);
    merges = file.GetStringArray(kMergesKey);
  }

  std::unique_ptr<Tokenizer> t(new Tokenizer());
  const size_t n = tokens.size();
  t->model_ = spm ? TokenizerModel::kSpm : TokenizerModel::kBpe;
  t->types_ = ReadTokenTypes(file, n);
  t->texts_.assign(tokens.begin(), tokens.end());
  t->bos_id_ = ReadTokenId(file, kBosKey, n);
  t->eos_id_ = ReadTokenId(file, kEosKey, n);
  t->eot_id_ = ReadTokenId(file, kEotKey, n);
  if (t->eot_id_ < 0) t->eot_id_ = t->FindToken("<|eot_id|>");
  if (t->eot_id_ < 0) t->eot_id_ = t->FindToken("<|im_end|>");  // ChatML's end of turn
  t->chat_template_ = ChatTemplate::kBitnet;
  if (const gguf::Value* v = file.Find(kChatTemplateKey))
    t->chat_template_ = DetectChatTemplate(v->AsString(kChatTemplateKey));
  if (file.Find(kAddBosKey) != nullptr) t->add_bos_ = file.GetBool(kAddBosKey);
  std::vector<float> scores;
  if (spm) {
    scores = ReadScores(file, n);
    // llama.cpp's defaults for a LLaMA vocabulary: <unk> 0, <s> 1, </s> 2.
    t->unk_id_ = ReadTokenId(file, kUnkKey, n);
    if (t->unk_id_ < 0) t->unk_id_ = 0;
    if (t->bos_id_ < 0 && n > 1) t->bos_id_ = 1;
    if (t->eos_id_ < 0 && n > 2) t->eos_id_ = 2;
    t->add_space_prefix_ = true;
    if (file.Find(kAddSpacePrefixKey) != nullptr)
      t->add_space_prefix_ = file.GetBool(kAddSpacePrefixKey);
    // A sentencepiece vocabulary has no pre-tokenizer; tokenizer.ggml.pre is ignored, as in
    // llama.cpp.
    t->kind_ = PreTokenizerKind::kDefault;
  } else {
    t->kind_ = kind == PreTokenizerKind::kAuto ? ResolveKind(file, tokens) : kind;
  }

  // What each token prints as, precomputed so that Decode is a copy.
  t->printed_offset_.reserve(n + 1);
  t->printed_offset_.push_back(0);
  for (size_t id = 0; id < n; ++id) {
    const TokenType type = t->types_[id];
    if (type == TokenType::kNormal) {
      if (spm) {
        t->printed_.append(tokenizer::UnescapeSpaces(tokens[id]));
      } else {
        tokenizer::AppendByteDecoded(tokens[id], &t->printed_);
      }
    } else if (type == TokenType::kUserDefined) {
      t->printed_.append(tokens[id]);
    } else if (type == TokenType::kByte && spm) {
      const int byte = tokenizer::ParseByteToken(tokens[id]);
      if (byte < 0) {
        // (The text itself is left out: it could be long or hold newlines.)
        Fail(kTokensKey, "[", id, "] is a BYTE token but not of the form <0xXX>");
      }
      t->printed_.push_back(static_cast<char>(byte));
    }
    if (t->printed_.size() > std::numeric_limits<uint32_t>::max())
      Fail(kTokensKey, " is too large");
    t->printed_offset_.push_back(static_cast<uint32_t>(t->printed_.size()));
  }

  std::vector<tokenizer::SpecialTokenMatcher::Entry> specials;
  for (size_t id = 0; id < n; ++id) {
    const TokenType type = t->types_[id];
    if (type == TokenType::kControl || type == TokenType::kUnknown ||
        type == TokenType::kUserDefined) {
      specials.push_back(
          {std::string(tokens[id]), static_cast<int32_t>(id), type == TokenType::kUserDefined});
    }
  }
  t->specials_ = std::make_unique<tokenizer::SpecialTokenMatcher>(std::move(specials));
  if (spm) {
    t->spm_ = std::make_unique<tokenizer::SpmModel>(tokens, scores, t->unk_id_);
    return t;
  }
  t->pre_ = std::make_unique<tokenizer::PreTokenizer>(t->kind_);
  t->bpe_ = std::make_unique<tokenizer::BpeModel>(tokens, merges);
  if (t->bpe_->skipped_merges() > 0) {
    std::string examples;
    for (const std::string& m : t->bpe_->skipped_examples()) examples += " '" + m + "'";
    LOG(WARNING) << "tokenizer: skipped " << t->bpe_->skipped_merges() << " of " << merges.size()
                 << " merges whose parts or result are not tokens, e.g." << examples;
  }
  return t;
}

size_t Tokenizer::skipped_merges() const {
  return bpe_ ? bpe_->skipped_merges() : 0;
}

int32_t Tokenizer::FindToken(std::string_view text) const {
  // Rarely used (EOT lookup, tests); a scan keeps the tokenizer free of a second string map.
  for (size_t id = texts_.size(); id-- > 0;) {
    if (texts_[id] == text) return static_cast<int32_t>(id);
  }
  return -1;
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_bos,
                                       bool parse_special) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 2);
  if (add_bos && add_bos_ && bos_id_ >= 0) ids.push_back(bos_id_);
  std::vector<tokenizer::SpecialTokenMatcher::Fragment> fragments;
  specials_->Split(text, parse_special, &fragments);
  if (spm_) {
    // llama.cpp adds the prefix space to the first stretch of text and to every one that
    // follows a special token, whether or not a BOS was added.
    bool after_special = true;
    for (const auto& fragment : fragments) {
      if (fragment.id >= 0) {
        ids.push_back(fragment.id);
        after_special = true;
        continue;
      }
      spm_->Encode(tokenizer::EscapeSpaces(fragment.text, add_space_prefix_ && after_special),
                   &ids);
      after_special = false;
    }
    return ids;
  }
  std::vector<std::string_view> pieces;
  for (const auto& fragment : fragments) {
    if (fragment.id >= 0) {
      ids.push_back(fragment.id);
      continue;
    }
    pieces.clear();
    pre_->Split(fragment.text, &pieces);
    for (std::string_view piece : pieces) bpe_->Encode(piece, ignore_merges(), &ids);
  }
  return ids;
}

void Tokenizer::CheckId(int32_t id) const {
  if (id < 0 || id >= n_vocab()) Fail("token id ", id, " is out of range [0, ", n_vocab(), ")");
}

std::string_view Tokenizer::TokenBytesView(int32_t id) const {
  CheckId(id);
  const uint32_t begin = printed_offset_[id];
  return std::string_view(printed_).substr(begin, printed_offset_[id + 1] - begin);
}

std::string_view Tokenizer::TokenText(int32_t id) const {
  CheckId(id);
  return texts_[id];
}

TokenType Tokenizer::token_type(int32_t id) const {
  CheckId(id);
  return types_[id];
}

std::string Tokenizer::Decode(std::span<const int32_t> ids) const {
  std::string out;
  for (int32_t id : ids) out.append(TokenBytesView(id));
  return out;
}

}  // namespace bitjit
