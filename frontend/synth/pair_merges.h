// Byte-pair learning over a small counted corpus, the way both synthetic vocabularies learn
// theirs (builtin_vocab: BPE merges; spm_vocab: SentencePiece pieces): count adjacent symbol
// pairs, take the most frequent, merge it everywhere, repeat.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace bitjit::synth {

// Distinct words as symbol sequences, each with how often it occurs.
using SymbolCorpus = std::vector<std::pair<std::vector<std::string>, int>>;
using SymbolPair = std::pair<std::string, std::string>;

// The most frequent adjacent pair, the smallest in (left, right) order on a tie; nullopt when
// no pair occurs at least twice.
std::optional<SymbolPair> MostFrequentPair(const SymbolCorpus& corpus);

// Replaces each occurrence of `pair`, left to right, by the concatenation of its symbols.
void MergePair(const SymbolPair& pair, SymbolCorpus* corpus);

}  // namespace bitjit::synth
