#include "frontend/tokenizer/special_tokens.h"

#include <algorithm>
#include <list>

namespace bitjit::tokenizer {

SpecialTokenMatcher::SpecialTokenMatcher(std::vector<Entry> entries)
    : entries_(std::move(entries)) {
  std::erase_if(entries_, [](const Entry& e) { return e.text.empty(); });
  // llama.cpp sorts by length only (std::sort, so equal lengths come in no defined order);
  // ties between tokens of equal length matter only when they overlap, so break them by id.
  std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    return a.text.size() != b.text.size() ? a.text.size() > b.text.size() : a.id < b.id;
  });
  trie_.emplace_back();
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    uint32_t node = 0;
    for (char c : entries_[i].text) {
      const uint8_t byte = static_cast<uint8_t>(c);
      uint32_t next = Child(node, byte);
      if (next == 0) {
        next = static_cast<uint32_t>(trie_.size());
        trie_[node].children.emplace_back(byte, next);
        if (node == 0) root_children_[byte] = next;
        trie_.emplace_back();
      }
      node = next;
    }
    // A text held by two ids keeps the lower one: it is first in line and consumes every match.
    if (trie_[node].entry < 0) trie_[node].entry = static_cast<int32_t>(i);
  }
}

uint32_t SpecialTokenMatcher::Child(uint32_t node, uint8_t byte) const {
  if (node == 0) return root_children_[byte];
  for (const auto& [b, child] : trie_[node].children) {
    if (b == byte) return child;
  }
  return 0;
}

void SpecialTokenMatcher::Split(std::string_view text, bool parse_special,
                                std::vector<Fragment>* out) const {
  // Which entries occur anywhere in the text. Usually none, and then the text is one fragment;
  // this keeps the cost at one pass instead of one search per special token (Llama-3 has 256).
  std::vector<uint32_t> present;
  {
    std::vector<bool> seen(entries_.size(), false);
    for (size_t pos = 0; pos < text.size(); ++pos) {
      uint32_t node = root_children_[static_cast<uint8_t>(text[pos])];
      for (size_t end = pos + 1; node != 0; ++end) {
        const int32_t i = trie_[node].entry;
        if (i >= 0 && !seen[i] && (parse_special || entries_[i].always)) {
          seen[i] = true;
          present.push_back(static_cast<uint32_t>(i));
        }
        if (end == text.size()) break;
        node = Child(node, static_cast<uint8_t>(text[end]));
      }
    }
    std::sort(present.begin(), present.end());  // back to longest-first order
  }
  if (present.empty()) {
    if (!text.empty()) out->push_back(Fragment{text, -1});
    return;
  }
  // llama.cpp's partition: each token, longest first, splits every remaining text fragment.
  std::list<Fragment> fragments{Fragment{text, -1}};
  for (uint32_t i : present) {
    const Entry& e = entries_[i];
    for (auto it = fragments.begin(); it != fragments.end(); ++it) {
      if (it->id >= 0) continue;
      const std::string_view plain = it->text;
      size_t from = 0;
      size_t at = plain.find(e.text);
      if (at == std::string_view::npos) continue;
      // Replace the fragment by: text, token, text, token, ..., text (empty texts dropped).
      auto insert_at = fragments.erase(it);
      while (at != std::string_view::npos) {
        if (at > from) fragments.insert(insert_at, Fragment{plain.substr(from, at - from), -1});
        fragments.insert(insert_at, Fragment{plain.substr(at, e.text.size()), e.id});
        from = at + e.text.size();
        at = plain.find(e.text, from);
      }
      if (from < plain.size()) {
        it = fragments.insert(insert_at, Fragment{plain.substr(from), -1});
      } else {
        it = std::prev(insert_at);
      }
    }
  }
  out->insert(out->end(), fragments.begin(), fragments.end());
}

}  // namespace bitjit::tokenizer
