// A checkpoint's byte-level BPE tokenizer (tokenizer.json, tokenizer_config.json) as the GGUF
// tokenizer keys llama.cpp's converter writes for it (_set_vocab_gpt2 + SpecialVocab):
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
  // Throws bitjit::Error on a missing or malformed tokenizer.json, a tokenizer that is not
  // byte-level BPE, or an id outside the vocabulary.
  HfVocab(const std::string& dir, const HfConfig& config, const std::string& pre_override = "");

  void AddBos(gguf::GgufWriter& w) const override;
  void AddBitnetVocab(gguf::GgufWriter& w) const override;
  void AddLlamaVocab(gguf::GgufWriter& w) const override;

  const std::vector<std::string>& tokens() const { return tokens_; }
  const std::vector<int32_t>& token_types() const { return types_; }
  const std::string& pre() const { return pre_; }  // "" when none is written

 private:
  void Read(const std::string& dir, const HfConfig& config, const std::string& pre_override);
  void AddIds(gguf::GgufWriter& w) const;

  std::vector<std::string> tokens_, merges_;
  std::vector<int32_t> types_;
  std::optional<uint32_t> bos_, eos_, pad_;
  std::optional<bool> add_bos_, add_eos_;
  std::string pre_, chat_template_;
};

}  // namespace bitjit::hf
