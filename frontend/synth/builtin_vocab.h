// A small GPT-2 byte-level BPE vocabulary in the layout of the golden models' tokenizer: the 256
// byte tokens (GPT-2 bytes_to_unicode form, in that table's order), merges learned from a short
// built-in text, "[PADi]" USER_DEFINED filler, then 8 CONTROL tokens at the end with
// <|begin_of_text|> = n_vocab-8 as BOS and <|end_of_text|> = n_vocab-7 as EOS and padding.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bitjit::synth {

// tokenizer.ggml.token_type values.
inline constexpr int32_t kTokenNormal = 1;
inline constexpr int32_t kTokenControl = 3;
inline constexpr int32_t kTokenUserDefined = 4;

inline constexpr int64_t kByteTokens = 256;
inline constexpr int64_t kControlTokens = 8;
inline constexpr int64_t kMinVocab = kByteTokens + kControlTokens;

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> token_types;
  std::vector<std::string> merges;  // "left right", rank = index
  uint32_t bos_id = 0;
  uint32_t eos_id = 0;
  uint32_t padding_id = 0;
  // A SentencePiece vocabulary (spm_vocab.h): tokenizer.ggml.model "llama", no merges, an
  // unknown token.
  bool spm = false;
  uint32_t unk_id = 0;
};

// The text the built-in vocabularies are learned from.
extern const char kTrainingText[];

// The vocabulary with exactly n_vocab tokens (throws bitjit::Error if n_vocab < kMinVocab). As
// many merges as fit are kept (up to what the built-in text yields).
Vocab BuiltinVocab(int64_t n_vocab);

// GPT-2's bytes_to_unicode: the printable code point that stands for byte b, as UTF-8.
std::string ByteToken(uint8_t b);

}  // namespace bitjit::synth
