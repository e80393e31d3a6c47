// Splitting text at special tokens before pre-tokenizing, as llama.cpp's
// tokenizer_st_partition does: the special tokens are taken longest first, and each one is
// cut out of every stretch of plain text that earlier (longer) tokens left, left to right.
// A special token is therefore never split by the pre-tokenizer nor merged with its
// neighbours, and the text between special tokens is pre-tokenized on its own.
//
// Which tokens take part: CONTROL (and UNKNOWN) tokens only when special parsing is on;
// USER_DEFINED tokens always, as in llama.cpp and Hugging Face (an added, non-special token is
// part of the vocabulary's surface, not a privileged marker).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bitjit::tokenizer {

class SpecialTokenMatcher {
 public:
  struct Entry {
    std::string text;
    int32_t id;
    bool always;  // matched even when special parsing is off (USER_DEFINED)
  };
  // A stretch of plain text (id < 0) or one special token (its text, and its id).
  struct Fragment {
    std::string_view text;
    int32_t id = -1;
  };

  explicit SpecialTokenMatcher(std::vector<Entry> entries);

  // Appends the fragments of `text`, in order; together they are exactly `text`.
  void Split(std::string_view text, bool parse_special, std::vector<Fragment>* out) const;

  size_t size() const { return entries_.size(); }

 private:
  // Finds which entries occur at all in one pass over the text: a byte trie of the entries,
  // walked from each position (a walk ends at the first byte no entry continues with).
  struct TrieNode {
    std::vector<std::pair<uint8_t, uint32_t>> children;  // (byte, node index)
    int32_t entry = -1;                                  // the entry ending here
  };
  uint32_t Child(uint32_t node, uint8_t byte) const;  // 0 (the root) when there is none

  std::vector<Entry> entries_;                 // longest first; equal lengths by id
  std::vector<TrieNode> trie_;                 // trie_[0] is the root
  std::array<uint32_t, 256> root_children_{};  // the root's edges, the hot lookup
};

}  // namespace bitjit::tokenizer
