// A checkpoint's tokenizer as the GGUF tokenizer keys bitnet.cpp's converter writes for it.
// Both architectures' set_vocab try the SentencePiece path first, so a tokenizer.model wins
// over tokenizer.json (hf_spm_vocab.cc: _set_vocab_sentencepiece + SpecialVocab):
//  - tokenizer.ggml.model "llama", pre "default", the pieces with their scores and types
//    (USER_DEFINED pieces become NORMAL: the converter only asks is_unknown / is_control /
//    is_unused / is_byte), then added_tokens.json's keys not yet in the vocabulary
//    (USER_DEFINED, score -1000), then "[PAD1]", "[PAD2]", ... (UNUSED, -1000) up to
//    config.json's vocab_size;
//  - bos / eos / unk / padding ids, add_bos_token / add_eos_token and chat_template as below.
// Otherwise the byte-level BPE of tokenizer.json (_set_vocab_gpt2 + SpecialVocab):
//  - tokens 0..vocab_size-1: ids the tokenizer lacks become "[PAD<id>]" USER_DEFINED, added
//    tokens are CONTROL (special) or USER_DEFINED, the rest NORMAL;
//  - merges as "left right" strings;
//  - bos / eos / padding ids from tokenizer_config.json's tokens, else config.json's ids;
//  - add_bos_token / add_eos_token and chat_template from tokenizer_config.json when present;
//  - tokenizer.ggml.pre: llama.cpp picks it by hashing the tokenizer's output; bitjit writes
//    llama-bpe when tokenizer.json's pre-tokenizer is Llama-3's split rule, the given name when
//    one is forced, and none otherwise (llama.cpp's default rule then applies).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "frontend/hf/hf_checkpoint.h"
#include "frontend/model/model_keys.h"

namespace bitjit::hf {

class HfVocab : public VocabKeys {
 public:
  // Throws bitjit::Error on a malformed tokenizer.model, a missing or malformed tokenizer.json
  // without one, a tokenizer that is neither, or an id outside the vocabulary.
  HfVocab(const std::string& dir, const HfConfig& config, const std::string& pre_override = "");

  void AddBos(gguf::GgufWriter& w) const override;
  void AddBitnetVocab(gguf::GgufWriter& w) const override;
  void AddLlamaVocab(gguf::GgufWriter& w) const override;

  const std::vector<std::string>& tokens() const { return tokens_; }
  const std::vector<int32_t>& token_types() const { return types_; }
  const std::string& pre() const { return pre_; }  // "" when none is written

 private:
  void Read(const std::string& dir, const HfConfig& config, const std::string& pre_override);
  // The tokens, types (and merges or scores) of tokenizer.json / tokenizer.model.
  void ReadBpe(const std::string& dir, const HfConfig& config, const std::string& pre_override);
  void ReadSentencePiece(const std::string& dir, const HfConfig& config);
  // Special ids, add_bos / add_eos and chat_template from tokenizer_config.json / config.json.
  void ReadTokenizerConfig(const std::string& dir, const HfConfig& config);
  void AddModelAndTokens(gguf::GgufWriter& w, bool scores) const;
  void AddIds(gguf::GgufWriter& w) const;

  bool spm_ = false;  // a SentencePiece vocabulary: scores and unk, no merges
  std::vector<std::string> tokens_, merges_;
  std::vector<float> scores_;
  std::vector<int32_t> types_;
  std::optional<uint32_t> bos_, eos_, unk_, pad_;
  std::optional<bool> add_bos_, add_eos_;
  std::string pre_, chat_template_;
};

}  // namespace bitjit::hf
