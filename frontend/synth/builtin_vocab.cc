#include "frontend/synth/builtin_vocab.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "frontend/synth/pair_merges.h"
#include "ir/base/error.h"

namespace bitjit::synth {

// Plain English with digits and a little code, so the vocabulary has the usual kinds of tokens
// (" the", "ing", " 20", "    ").
const char kTrainingText[] =
    "Once upon a time there was a little dog who lived in a house by the river. The dog liked "
    "to run in the garden and to play with the children of the family. The capital of France "
    "is Paris, and the capital of Italy is Rome. In 2024 the city had 2100000 people; in 2020 it "
    "had 2000000. 1 + 1 = 2, 2 + 2 = 4, 3 + 3 = 6, 10 + 10 = 20.\n"
    "Hello, world! Hello again. What is the name of the river? The river is the Seine.\n"
    "def add(a, b):\n    return a + b\n\nfor i in range(10):\n    print(add(i, i))\n"
    "Happy families are all alike; every unhappy family is unhappy in its own way. It was the "
    "best of times, it was the worst of times, it was the age of wisdom.\n";

namespace {

// Cap on the merges taken from the text (the text yields fewer anyway).
constexpr size_t kMaxMerges = 200;

// Code point of byte b under GPT-2's bytes_to_unicode.
uint32_t ByteCodePoint(uint8_t b) {
  const auto printable = [](unsigned c) {
    return (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
  };
  if (printable(b)) return b;
  uint32_t n = 0;  // the other bytes map to 256, 257, ... in byte order
  for (unsigned c = 0; c < b; ++c)
    if (!printable(c)) ++n;
  return 256 + n;
}

std::string Utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {  // all bytes_to_unicode code points are below 0x800
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// Splits the text GPT-2 style into pieces that carry their leading space (" the"), with digit
// runs, punctuation runs and newlines on their own; each piece as its byte tokens.
std::vector<std::vector<std::string>> PreTokenize(std::string_view text) {
  const auto kind = [](char c) {
    if (c == '\n') return 0;
    if (c == ' ') return 1;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 2;
    if (c >= '0' && c <= '9') return 3;
    return 4;
  };
  std::vector<std::vector<std::string>> pieces;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i + 1;
    if (kind(text[i]) == 1 && j < text.size() && kind(text[j]) >= 2) {
      const int k = kind(text[j]);  // a space joins the run that follows it
      while (j < text.size() && kind(text[j]) == k) ++j;
    } else {
      const int k = kind(text[i]);
      while (j < text.size() && kind(text[j]) == k) ++j;
    }
    std::vector<std::string> piece;
    for (size_t p = i; p < j; ++p) piece.push_back(ByteToken(static_cast<uint8_t>(text[p])));
    pieces.push_back(std::move(piece));
    i = j;
  }
  return pieces;
}

// Classic BPE training: repeatedly merge the most frequent adjacent pair (ties: the smaller
// pair, so the result is deterministic) until no pair occurs twice or `limit` merges are made.
std::vector<std::pair<std::string, std::string>> LearnMerges(size_t limit) {
  std::map<std::vector<std::string>, int> words;
  for (auto& piece : PreTokenize(kTrainingText)) ++words[piece];
  SymbolCorpus corpus(words.begin(), words.end());
  std::vector<std::pair<std::string, std::string>> merges;
  while (merges.size() < limit) {
    const std::optional<SymbolPair> best = MostFrequentPair(corpus);
    if (!best) break;
    merges.push_back(*best);
    MergePair(*best, &corpus);
  }
  return merges;
}

}  // namespace

std::string ByteToken(uint8_t b) {
  return Utf8(ByteCodePoint(b));
}

Vocab BuiltinVocab(int64_t n_vocab) {
  if (n_vocab < kMinVocab) {
    Fail("n_vocab ", n_vocab, " is too small for the built-in vocabulary (at least ", kMinVocab,
         ": 256 byte tokens and 8 control tokens)");
  }
  Vocab v;
  // Byte tokens in bytes_to_unicode's order: the printable bytes first, as GPT-2 and Llama-3 do.
  std::vector<uint8_t> order;
  for (unsigned b = 0; b < 256; ++b)
    if (ByteCodePoint(b) == b) order.push_back(static_cast<uint8_t>(b));
  for (unsigned b = 0; b < 256; ++b)
    if (ByteCodePoint(b) != b) order.push_back(static_cast<uint8_t>(b));
  for (uint8_t b : order) v.tokens.push_back(ByteToken(b));

  // Merges whose result is a new token, as many as fit before the control tokens. A merge that
  // yields an existing string adds no token but is still a valid rule.
  const size_t room = static_cast<size_t>(n_vocab - kMinVocab);
  std::set<std::string> known(v.tokens.begin(), v.tokens.end());
  for (const auto& [left, right] : LearnMerges(std::min(room, kMaxMerges))) {
    if (known.insert(left + right).second) {
      if (v.tokens.size() >= static_cast<size_t>(n_vocab - kControlTokens)) break;
      v.tokens.push_back(left + right);
    }
    v.merges.push_back(left + " " + right);
  }
  v.token_types.assign(v.tokens.size(), kTokenNormal);
  while (static_cast<int64_t>(v.tokens.size()) < n_vocab - kControlTokens) {
    v.tokens.push_back("[PAD" + std::to_string(v.tokens.size()) + "]");
    v.token_types.push_back(kTokenUserDefined);
  }
  // Llama-3's special tokens in their relative order, ending with the end-of-turn token.
  for (const char* special :
       {"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>", "<|start_header_id|>", "<|end_header_id|>",
        "<|reserved_special_token_2|>", "<|eot_id|>"}) {
    v.tokens.push_back(special);
    v.token_types.push_back(kTokenControl);
  }
  v.scores.assign(v.tokens.size(), 0.0f);
  v.bos_id = static_cast<uint32_t>(n_vocab - kControlTokens);
  v.eos_id = v.bos_id + 1;
  v.padding_id = v.eos_id;
  return v;
}

}  // namespace bitjit::synth
