// Byte-level BPE over token ids. Each piece from the pre-tokenizer starts as one symbol per
// byte (the token of that byte's GPT-2 character); then the adjacent pair whose merge has the
// lowest rank (its index in tokenizer.ggml.merges; the leftmost pair on a tie) is replaced by
// the merged token, until no adjacent pair has a merge. This is the order llama.cpp and
// Hugging Face use.
//
// Llama-3's `ignore_merges`: when the whole piece is itself a token, that token is emitted
// without merging (plain BPE reaches another split for hundreds of words, e.g. " việc").
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/tokenizer/string_index.h"

namespace bitjit::tokenizer {

class BpeModel {
 public:
  // `tokens` are the vocabulary in byte-level form; `merges` are "left right" strings of it.
  // A merge is skipped (and counted) when a side, or the concatenation, is not a token: it
  // could only make a symbol that no id stands for. When a string occurs twice in `tokens`
  // the later id wins, and a repeated merge keeps its first rank (as in llama.cpp).
  // Pieces of up to `small_piece_limit` bytes (at most kMaxSmallPiece) merge with a plain scan
  // over the pair ranks, which is fastest for words; longer ones use a heap so that the cost
  // stays O(n log n) (runs of letters or punctuation can be arbitrarily long). Both give the
  // same ids; tests set the limit to 0 to check the heap path on every piece.
  static constexpr size_t kMaxSmallPiece = 64;
  BpeModel(std::span<const std::string_view> tokens, std::span<const std::string_view> merges,
           size_t small_piece_limit = kMaxSmallPiece);

  // Appends the ids of one piece (raw bytes). Bytes whose character is not in the vocabulary
  // produce no id (llama.cpp drops them too); a complete GPT-2 vocabulary has all 256.
  void Encode(std::string_view piece, bool ignore_merges, std::vector<int32_t>* out) const;

  size_t merge_count() const { return merges_.size(); }
  size_t skipped_merges() const { return skipped_merges_; }
  // The first merges that were skipped (up to 5), for error messages and logs.
  const std::vector<std::string>& skipped_examples() const { return skipped_examples_; }
  // Id of the token whose raw bytes are `bytes`, or -1.
  int32_t FindRaw(std::string_view bytes) const;

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  // Open-addressing table from a (left, right) id pair to its merge: the hot lookup.
  class MergeTable {
   public:
    void Reserve(size_t n);
    // Keeps the first entry for a key.
    void Insert(int32_t left, int32_t right, Merge merge);
    const Merge* Find(int32_t left, int32_t right) const;
    size_t size() const { return size_; }

   private:
    static uint64_t Key(int32_t left, int32_t right) {
      return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
             static_cast<uint32_t>(right);
    }
    static constexpr uint64_t kEmpty = ~uint64_t{0};
    struct Slot {  // key and value side by side: one cache miss per probe
      uint64_t key;
      Merge merge;
    };
    std::vector<Slot> slots_;
    size_t mask_ = 0;
    size_t size_ = 0;
  };

  void MergeSmall(std::vector<int32_t>& symbols) const;
  void MergeLarge(std::vector<int32_t>& symbols) const;

  size_t small_piece_limit_;
  std::array<int32_t, 256> byte_token_;
  MergeTable merges_;
  // Raw bytes -> id, for every token whose text is all byte characters (the ignore_merges
  // lookup; equivalent to looking the byte-level piece up among the token strings, since the
  // byte-level form is a bijection). The index's keys point into raw_bytes_.
  std::string raw_bytes_;
  StringIndex raw_to_id_;
  size_t skipped_merges_ = 0;
  std::vector<std::string> skipped_examples_;
};

}  // namespace bitjit::tokenizer
