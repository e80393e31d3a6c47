// SentencePiece-style BPE over scores ("llama" in GGUF), the tokenizer of 1bitLLM's
// bitnet_b1_58-large and -3B as bitnet.cpp converts them. It follows llama.cpp's
// LLAMA_VOCAB_TYPE_SPM (llm_tokenizer_spm):
//  - the caller escapes the text first (EscapeSpaces: every space becomes U+2581 "▁", with a
//    leading one where a prefix space is due);
//  - the text starts as one symbol per UTF-8 character, the length taken from the lead byte
//    alone as llama.cpp does (so a broken sequence stays one symbol with the bytes after it);
//  - repeatedly, the adjacent pair whose concatenation is a token with the highest score is
//    merged (the leftmost pair on a tie), until no adjacent pair concatenates to a token;
//  - every final symbol that is a token is emitted as that token; any other (a character the
//    vocabulary lacks) as one byte token "<0xXX>" per byte, else the token that is the byte
//    itself; a character with a byte that has neither becomes one unknown token (SentencePiece
//    without byte fallback does that; llama.cpp would throw std::out_of_range).
// When a string occurs twice in the vocabulary the later id wins, as in llama.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/tokenizer/string_index.h"

namespace bitjit::tokenizer {

// U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space.
inline constexpr std::string_view kSpmSpace = "\xE2\x96\x81";

// `text` with every ' ' replaced by kSpmSpace, after a leading space when `prefix_space`.
std::string EscapeSpaces(std::string_view text, bool prefix_space);
// `piece` with every kSpmSpace replaced by ' ' (how a NORMAL token prints).
std::string UnescapeSpaces(std::string_view piece);
// The byte a byte token "<0xXX>" stands for (two hex digits, either case), or -1.
int ParseByteToken(std::string_view text);

class SpmModel {
 public:
  // `tokens` and `scores` are the vocabulary (same length; scores finite: the caller checks).
  // `unk_id` is emitted for a character whose bytes have no tokens.
  SpmModel(std::span<const std::string_view> tokens, std::span<const float> scores, int32_t unk_id);

  // Appends the ids of `escaped` (already through EscapeSpaces).
  void Encode(std::string_view escaped, std::vector<int32_t>* out) const;

  // Id of byte b's token ("<0xXX>", else the one-byte token), or -1.
  int32_t ByteTokenId(uint8_t b) const { return byte_token_[b]; }

 private:
  std::string texts_;  // the token strings back to back (the index's keys)
  std::vector<float> scores_;
  StringIndex text_to_id_;
  std::array<int32_t, 256> byte_token_;
  int32_t unk_id_;
};

}  // namespace bitjit::tokenizer
