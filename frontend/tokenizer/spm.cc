#include "frontend/tokenizer/spm.h"

#include <algorithm>
#include <queue>

namespace bitjit::tokenizer {
namespace {

// The character length llama.cpp's unicode_len_utf8 gives a lead byte: by its high nibble,
// without checking the bytes that follow (continuation and invalid bytes count as 1, 0xF8..0xFF
// as 4). Matching it keeps symbol boundaries, and so the ids, the same for broken UTF-8.
size_t LeadLength(uint8_t c) {
  static constexpr uint8_t kLength[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLength[c >> 4];
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string EscapeSpaces(std::string_view text, bool prefix_space) {
  std::string out;
  out.reserve(text.size() + 3 * (prefix_space ? 1 : 0) + 8);
  if (prefix_space) out.append(kSpmSpace);
  for (char c : text) {
    if (c == ' ') {
      out.append(kSpmSpace);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string UnescapeSpaces(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  for (size_t i = 0; i < piece.size();) {
    if (piece.substr(i, kSpmSpace.size()) == kSpmSpace) {
      out.push_back(' ');
      i += kSpmSpace.size();
    } else {
      out.push_back(piece[i++]);
    }
  }
  return out;
}

int ParseByteToken(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  const int hi = HexDigit(text[3]), lo = HexDigit(text[4]);
  if (hi < 0 || lo < 0) return -1;
  return hi * 16 + lo;
}

SpmModel::SpmModel(std::span<const std::string_view> tokens, std::span<const float> scores,
                   int32_t unk_id)
    : scores_(scores.begin(), scores.end()), unk_id_(unk_id) {
  const size_t n = tokens.size();
  std::vector<size_t> offset(n + 1, 0);
  for (size_t id = 0; id < n; ++id) {
    texts_.append(tokens[id]);
    offset[id + 1] = texts_.size();
  }
  text_to_id_.Build(n, [&](size_t id) {
    return std::string_view(texts_).substr(offset[id], offset[id + 1] - offset[id]);
  });
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    const char name[6] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
    const char byte = static_cast<char>(b);
    int32_t id = text_to_id_.Find(std::string_view(name, 6));
    if (id < 0) id = text_to_id_.Find(std::string_view(&byte, 1));
    byte_token_[b] = id;
  }
}

void SpmModel::Encode(std::string_view escaped, std::vector<int32_t>* out) const {
  if (escaped.empty()) return;
  struct Symbol {
    uint32_t start, len;  // bytes of `escaped`; len 0 once merged into its left neighbour
    int32_t prev, next;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(escaped.size());
  for (size_t pos = 0; pos < escaped.size();) {
    const size_t len =
        std::min(LeadLength(static_cast<uint8_t>(escaped[pos])), escaped.size() - pos);
    const int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back(Symbol{static_cast<uint32_t>(pos), static_cast<uint32_t>(len), index - 1,
                             pos + len == escaped.size() ? -1 : index + 1});
    pos += len;
  }

  // Candidate merges, best first: highest score, then leftmost. An entry goes stale when either
  // symbol changes; since symbols only grow, "both alive and the same total length" means
  // unchanged.
  struct Bigram {
    float score;
    int32_t left, right;
    uint32_t size;
  };
  const auto worse = [](const Bigram& a, const Bigram& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  const auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const uint32_t size = symbols[left].len + symbols[right].len;
    const int32_t id = text_to_id_.Find(escaped.substr(symbols[left].start, size));
    if (id < 0) return;
    queue.push(Bigram{scores_[id], left, right, size});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    const Bigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    if (left.len == 0 || right.len == 0 || left.len + right.len != bigram.size) continue;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    try_add(left.prev, bigram.left);
    try_add(bigram.left, left.next);
  }

  for (int32_t i = 0; i != -1; i = symbols[i].next) {
    const std::string_view text = escaped.substr(symbols[i].start, symbols[i].len);
    if (const int32_t id = text_to_id_.Find(text); id >= 0) {
      out->push_back(id);
      continue;
    }
    const bool all_bytes = std::all_of(text.begin(), text.end(), [&](char c) {
      return byte_token_[static_cast<uint8_t>(c)] >= 0;
    });
    if (!all_bytes) {
      out->push_back(unk_id_);
      continue;
    }
    for (char c : text) out->push_back(byte_token_[static_cast<uint8_t>(c)]);
  }
}

}  // namespace bitjit::tokenizer
