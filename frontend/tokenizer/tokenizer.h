// The tokenizer of bitnet-b1.58 models, read from the tokenizer.ggml.* keys: GPT-2 style
// byte-level BPE ("gpt2" in GGUF; the 2B-4T, Falcon3 and Llama-3 files), or SentencePiece
// ("llama": 1bitLLM's bitnet_b1_58-large and -3B as setup_env.py converts them; spm.h).
// See spec/TOKENIZER.md for the BPE rules this follows.
//
// SentencePiece encode, as llama.cpp's LLAMA_VOCAB_TYPE_SPM: special tokens are cut out as for
// BPE; each stretch of plain text that comes first or right after a special token (BOS
// included) gets a leading space when tokenizer.ggml.add_space_prefix (true when absent), has
// its spaces escaped as U+2581 and is merged by score (spm.h). Token pieces: NORMAL tokens their
// text with U+2581 as a space, BYTE tokens "<0xXX>" their byte.
//
// Encode: special tokens are cut out first (special_tokens.h), each stretch of plain text is
// split by the pre-tokenizer (pre_tokenizer.h), and each piece is BPE-merged on its own
// (bpe.h). The pre-tokenizer is chosen from tokenizer.ggml.pre when present ("llama-bpe" or
// "llama3": Llama-3; "default": llama.cpp's fallback); without that key, a Llama-3 vocabulary
// (128256 tokens, "<|begin_of_text|>" at 128000) gets the Llama-3 rule it was trained with and
// any other vocabulary gets the fallback, which is what bitnet.cpp uses for all of them.
// Llama-3's ignore_merges rule is on exactly when the Llama-3 pre-tokenizer is.
//
// A Tokenizer is immutable after FromGguf; Encode and Decode may be called from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/gguf/gguf_file.h"
#include "frontend/tokenizer/chat_template.h"
#include "frontend/tokenizer/pre_tokenizer.h"

namespace bitjit {

namespace tokenizer {
class BpeModel;
class SpecialTokenMatcher;
class SpmModel;
}  // namespace tokenizer

// Parses a --pre-tokenizer value: "llama3", "default", or "auto"/"" (decide from the file).
// Throws bitjit::Error naming the accepted values.
PreTokenizerKind ParsePreTokenizerKind(std::string_view name);

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// tokenizer.ggml.model: which algorithm the vocabulary is for.
enum class TokenizerModel {
  kBpe,  // "gpt2"
  kSpm,  // "llama"
};

class Tokenizer {
 public:
  // Reads tokenizer.ggml.{model,tokens,token_type,merges,pre,bos_token_id,eos_token_id,
  // eot_token_id,add_bos_token}; for "llama" scores (required, finite), unknown_token_id and
  // add_space_prefix instead of merges and pre, and BOS 1, EOS 2, UNK 0 where the ids are
  // absent (llama.cpp's defaults). Throws bitjit::Error when a required key is missing or bad
  // ("missing key tokenizer.ggml.tokens", "tokenizer.ggml.token_type has 5 entries for 7
  // tokens", "unknown tokenizer.ggml.pre 'qwen2'", ...). Merges whose sides or result are not
  // tokens are skipped (skipped_merges() counts them; a warning is logged).
  // `kind` overrides the detection (kAuto: detect).
  static std::unique_ptr<Tokenizer> FromGguf(const gguf::GgufFile& file,
                                             PreTokenizerKind kind = PreTokenizerKind::kAuto);
  ~Tokenizer();

  // Token ids of `text`. `add_bos` prepends BOS only if the model asks for it
  // (tokenizer.ggml.add_bos_token, true when absent) and has a BOS id. `parse_special` lets
  // CONTROL token text such as "<|eot_id|>" become that token; USER_DEFINED tokens are always
  // matched. Invalid UTF-8 is tokenized byte by byte and round-trips through Decode.
  std::vector<int32_t> Encode(std::string_view text, bool add_bos, bool parse_special) const;

  // The bytes token `id` prints as: NORMAL tokens their raw bytes (SPM: their text with U+2581
  // as a space); USER_DEFINED tokens their text; CONTROL, UNKNOWN, UNUSED and UNDEFINED tokens
  // nothing; BYTE tokens nothing for BPE and their byte for SPM (llama.cpp's token_to_piece
  // without special rendering and without lstrip, which is what llama-cli prints). Throws
  // bitjit::Error for an id out of range.
  std::string TokenBytes(int32_t id) const { return std::string(TokenBytesView(id)); }
  // The same bytes without a copy (valid as long as the Tokenizer).
  std::string_view TokenBytesView(int32_t id) const;
  // The vocabulary string of `id` as stored (byte-level form), e.g. "Ġworld".
  std::string_view TokenText(int32_t id) const;
  TokenType token_type(int32_t id) const;
  // Concatenated TokenBytes. Throws bitjit::Error for an id out of range.
  std::string Decode(std::span<const int32_t> ids) const;

  int32_t n_vocab() const { return static_cast<int32_t>(texts_.size()); }
  int32_t bos_id() const { return bos_id_; }  // -1 if the file has none
  int32_t eos_id() const { return eos_id_; }  // -1 if the file has none
  // tokenizer.ggml.eot_token_id if present, else the token "<|eot_id|>", else "<|im_end|>",
  // else -1.
  int32_t eot_id() const { return eot_id_; }
  // True for EOS and EOT: generation stops there.
  bool IsEndOfGeneration(int32_t id) const { return id >= 0 && (id == eos_id_ || id == eot_id_); }
  // The id of the token whose vocabulary string is exactly `text`, or -1.
  int32_t FindToken(std::string_view text) const;

  TokenizerModel model() const { return model_; }
  // SPM only: the unknown token (-1 for BPE) and whether text gets a prefix space.
  int32_t unk_id() const { return unk_id_; }
  bool add_space_prefix() const { return add_space_prefix_; }
  PreTokenizerKind pre_tokenizer() const { return kind_; }  // resolved: kLlama3 or kDefault
  bool ignore_merges() const { return kind_ == PreTokenizerKind::kLlama3; }
  bool add_bos() const { return add_bos_; }
  // The chat format tokenizer.chat_template selects (chat_template.h); bitnet without one.
  ChatTemplate chat_template() const { return chat_template_; }
  size_t skipped_merges() const;

 private:
  Tokenizer();
  void CheckId(int32_t id) const;

  std::vector<std::string> texts_;  // vocabulary strings (byte-level form)
  std::vector<TokenType> types_;
  std::string printed_;                   // TokenBytes of all tokens, back to back
  std::vector<uint32_t> printed_offset_;  // n_vocab + 1 offsets into printed_
  int32_t bos_id_ = -1, eos_id_ = -1, eot_id_ = -1, unk_id_ = -1;
  bool add_bos_ = true;
  bool add_space_prefix_ = false;
  TokenizerModel model_ = TokenizerModel::kBpe;
  PreTokenizerKind kind_ = PreTokenizerKind::kDefault;
  ChatTemplate chat_template_ = ChatTemplate::kBitnet;
  std::unique_ptr<tokenizer::PreTokenizer> pre_;
  std::unique_ptr<tokenizer::BpeModel> bpe_;  // null for SPM
  std::unique_ptr<tokenizer::SpmModel> spm_;  // null for BPE
  std::unique_ptr<tokenizer::SpecialTokenMatcher> specials_;
};

}  // namespace bitjit
