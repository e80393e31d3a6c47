#include "frontend/synth/pair_merges.h"

#include <map>

namespace bitjit::synth {

std::optional<SymbolPair> MostFrequentPair(const SymbolCorpus& corpus) {
  std::map<SymbolPair, int> counts;
  for (const auto& [symbols, count] : corpus)
    for (size_t i = 0; i + 1 < symbols.size(); ++i) counts[{symbols[i], symbols[i + 1]}] += count;
  auto best = counts.end();
  for (auto it = counts.begin(); it != counts.end(); ++it)
    if (best == counts.end() || it->second > best->second) best = it;
  if (best == counts.end() || best->second < 2) return std::nullopt;
  return best->first;
}

void MergePair(const SymbolPair& pair, SymbolCorpus* corpus) {
  for (auto& [symbols, count] : *corpus) {
    std::vector<std::string> merged;
    for (size_t i = 0; i < symbols.size(); ++i) {
      if (i + 1 < symbols.size() && symbols[i] == pair.first && symbols[i + 1] == pair.second) {
        merged.push_back(pair.first + pair.second);
        ++i;
      } else {
        merged.push_back(symbols[i]);
      }
    }
    symbols = std::move(merged);
  }
}

}  // namespace bitjit::synth
