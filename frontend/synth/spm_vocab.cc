#include "frontend/synth/spm_vocab.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/synth/pair_merges.h"
#include "ir/base/error.h"

namespace bitjit::synth {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space
constexpr size_t kMaxPieces = 200;
constexpr int64_t kLlamaPieces = 32000;  // the pieces of LLaMA's tokenizer.model

// The training text as SentencePiece sees it: words that start at each space (escaped as
// U+2581, with one in front of the text), each as its characters (the text is ASCII).
std::vector<std::vector<std::string>> Words() {
  std::vector<std::vector<std::string>> words(1, {std::string(kSpace)});
  for (const char* p = kTrainingText; *p != '\0'; ++p) {
    if (*p == ' ') {
      words.push_back({std::string(kSpace)});
    } else {
      words.back().emplace_back(1, *p);
    }
  }
  return words;
}

// BPE training over the words: the most frequent adjacent pair (ties: the smaller pair) is
// merged, until no pair occurs twice or `limit` new pieces are made.
std::vector<std::string> LearnPieces(size_t limit) {
  std::map<std::vector<std::string>, int> counted;
  for (auto& w : Words()) ++counted[w];
  SymbolCorpus corpus(counted.begin(), counted.end());
  std::vector<std::string> pieces;
  std::set<std::string> known;
  while (pieces.size() < limit) {
    const std::optional<SymbolPair> best = MostFrequentPair(corpus);
    if (!best) break;
    if (known.insert(best->first + best->second).second)
      pieces.push_back(best->first + best->second);
    MergePair(*best, &corpus);
  }
  return pieces;
}

std::set<std::string> Characters() {
  std::set<std::string> chars;
  for (const auto& w : Words())
    for (const std::string& c : w) chars.insert(c);
  return chars;
}

}  // namespace

int64_t MinSpmVocab() {
  return 3 + kByteTokens + static_cast<int64_t>(Characters().size());
}

Vocab SpmVocab(int64_t n_vocab) {
  const std::set<std::string> chars = Characters();
  const int64_t fixed = MinSpmVocab();
  if (n_vocab < fixed) {
    Fail("n_vocab ", n_vocab, " is too small for the built-in sentencepiece vocabulary (at least ",
         fixed, ": <unk> <s> </s>, 256 byte tokens and the text's ", chars.size(), " characters)");
  }
  Vocab v;
  v.spm = true;
  const auto add = [&](std::string text, float score, int32_t type) {
    v.tokens.push_back(std::move(text));
    v.scores.push_back(score);
    v.token_types.push_back(type);
  };
  add("<unk>", 0.0f, kTokenUnknown);
  add("<s>", 0.0f, kTokenControl);
  add("</s>", 0.0f, kTokenControl);
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b)
    add({'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'}, 0.0f, kTokenByte);
  // Learned pieces score -rank; characters score below every piece, as in LLaMA's vocabulary.
  const size_t room = static_cast<size_t>(n_vocab - fixed);
  float score = 0.0f;
  for (std::string& piece : LearnPieces(std::min(room, kMaxPieces))) {
    if (chars.count(piece) == 0) add(std::move(piece), score--, kTokenNormal);
  }
  score = -1000.0f;
  for (const std::string& c : chars) add(c, score--, kTokenNormal);
  // bitnet.cpp's converter pads LLaMA's 32000 pieces up to config.json's vocab_size with
  // "[PAD1]", "[PAD2]", ... (UNUSED, score -1000): 1bitLLM's 32002 ends in two of them.
  const int64_t n_pieces = std::max<int64_t>(static_cast<int64_t>(v.tokens.size()),
                                             std::min<int64_t>(n_vocab, kLlamaPieces));
  for (int64_t i = 0; static_cast<int64_t>(v.tokens.size()) < n_pieces; ++i) {
    add(std::string(kSpace) + "~" + std::to_string(i), -100000.0f, kTokenNormal);
  }
  for (int64_t i = 1; static_cast<int64_t>(v.tokens.size()) < n_vocab; ++i) {
    add("[PAD" + std::to_string(i) + "]", -1000.0f, kTokenUnused);
  }
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  return v;
}

}  // namespace bitjit::synth
