#include "frontend/tokenizer/bpe.h"

#include <algorithm>
#include <bit>
#include <climits>
#include <queue>

#include "frontend/tokenizer/byte_unicode.h"

namespace bitjit::tokenizer {
namespace {

constexpr int32_t kNoRank = INT32_MAX;

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

void BpeModel::MergeTable::Reserve(size_t n) {
  const size_t capacity = std::bit_ceil(std::max<size_t>(16, n * 2));
  slots_.assign(capacity, Slot{kEmpty, Merge{kNoRank, -1}});
  mask_ = capacity - 1;
  size_ = 0;
}

void BpeModel::MergeTable::Insert(int32_t left, int32_t right, Merge merge) {
  if ((size_ + 1) * 2 > slots_.size()) {
    // Grow: rehash everything into a table twice as large.
    std::vector<Slot> old = std::move(slots_);
    Reserve(old.size());
    for (const Slot& slot : old) {
      if (slot.key != kEmpty) {
        Insert(static_cast<int32_t>(slot.key >> 32), static_cast<int32_t>(slot.key), slot.merge);
      }
    }
  }
  const uint64_t key = Key(left, right);
  for (size_t i = Mix(key) & mask_;; i = (i + 1) & mask_) {
    Slot& slot = slots_[i];
    if (slot.key == key) return;  // a repeated merge keeps its first (lower) rank
    if (slot.key == kEmpty) {
      slot = Slot{key, merge};
      ++size_;
      return;
    }
  }
}

const BpeModel::Merge* BpeModel::MergeTable::Find(int32_t left, int32_t right) const {
  if (left < 0 || right < 0 || size_ == 0) return nullptr;
  const uint64_t key = Key(left, right);
  for (size_t i = Mix(key) & mask_;; i = (i + 1) & mask_) {
    const Slot& slot = slots_[i];
    if (slot.key == key) return &slot.merge;
    if (slot.key == kEmpty) return nullptr;
  }
}

BpeModel::BpeModel(std::span<const std::string_view> tokens,
                   std::span<const std::string_view> merges, size_t small_piece_limit)
    : small_piece_limit_(std::min(small_piece_limit, kMaxSmallPiece)) {
  const size_t n = tokens.size();
  StringIndex text_to_id;
  text_to_id.Build(n, [&](size_t id) { return tokens[id]; });

  // Raw bytes of every token, back to back; tokens with a character that stands for no byte
  // (none in a pure byte-level vocabulary) are left out of the index.
  std::vector<size_t> raw_offset(n + 1, 0);
  std::vector<bool> decodable(n);
  for (size_t id = 0; id < n; ++id) {
    decodable[id] = AppendByteDecoded(tokens[id], &raw_bytes_);
    raw_offset[id + 1] = raw_bytes_.size();
  }
  raw_to_id_.Build(
      n,
      [&](size_t id) {
        return std::string_view(raw_bytes_)
            .substr(raw_offset[id], raw_offset[id + 1] - raw_offset[id]);
      },
      [&](size_t id) { return decodable[id]; });

  for (int b = 0; b < 256; ++b)
    byte_token_[b] = text_to_id.Find(ByteToUnicode(static_cast<uint8_t>(b)));

  merges_.Reserve(merges.size());
  std::string joined;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string_view merge = merges[rank];
    // Split at the first space after the first character, as llama.cpp does.
    const size_t space = merge.find(' ', 1);
    int32_t left = -1, right = -1, result = -1;
    if (space != std::string_view::npos) {
      left = text_to_id.Find(merge.substr(0, space));
      right = text_to_id.Find(merge.substr(space + 1));
      joined.assign(merge.substr(0, space));
      joined.append(merge.substr(space + 1));
      result = text_to_id.Find(joined);
    }
    if (left < 0 || right < 0 || result < 0) {
      ++skipped_merges_;
      if (skipped_examples_.size() < 5) skipped_examples_.emplace_back(merge);
      continue;
    }
    merges_.Insert(left, right, Merge{static_cast<int32_t>(rank), result});
  }
}

int32_t BpeModel::FindRaw(std::string_view bytes) const {
  return raw_to_id_.Find(bytes);
}

void BpeModel::Encode(std::string_view piece, bool ignore_merges, std::vector<int32_t>* out) const {
  if (piece.empty()) return;
  if (ignore_merges) {
    if (int32_t id = FindRaw(piece); id >= 0) {
      out->push_back(id);
      return;
    }
  }
  thread_local std::vector<int32_t> symbols;
  symbols.clear();
  for (char c : piece) symbols.push_back(byte_token_[static_cast<uint8_t>(c)]);
  if (symbols.size() <= small_piece_limit_) {
    MergeSmall(symbols);
  } else {
    MergeLarge(symbols);
  }
  for (int32_t id : symbols) {
    if (id >= 0) out->push_back(id);
  }
}

void BpeModel::MergeSmall(std::vector<int32_t>& symbols) const {
  // ranks[i]: the merge of (symbols[i], symbols[i+1]), if any.
  Merge ranks[kMaxSmallPiece];
  size_t n = symbols.size();
  const auto pair = [&](size_t i) {
    const Merge* m = merges_.Find(symbols[i], symbols[i + 1]);
    return m ? *m : Merge{kNoRank, -1};
  };
  for (size_t i = 0; i + 1 < n; ++i) ranks[i] = pair(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (ranks[i].rank < ranks[best].rank) best = i;  // strict: the leftmost wins a tie
    }
    if (ranks[best].rank == kNoRank) break;
    symbols[best] = ranks[best].result;
    symbols.erase(symbols.begin() + static_cast<ptrdiff_t>(best) + 1);
    std::copy(ranks + best + 1, ranks + n - 1, ranks + best);
    --n;
    if (best > 0) ranks[best - 1] = pair(best - 1);
    if (best + 1 < n) ranks[best] = pair(best);
  }
}

void BpeModel::MergeLarge(std::vector<int32_t>& symbols) const {
  // A doubly linked list of symbols and a min-heap of candidate pairs ordered by (rank, left
  // position). Entries go stale when a neighbour merges; a popped entry is used only if its two
  // symbols are still adjacent and unchanged. (A symbol's id only ever grows into a longer
  // token, so an unchanged id means the pair is still the one that was pushed.)
  struct Candidate {
    int32_t rank;
    int32_t left;  // position of the left symbol
    int32_t left_id, right_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  constexpr int32_t kDead = INT32_MIN;
  const int32_t n = static_cast<int32_t>(symbols.size());
  std::vector<int32_t> prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  const auto push = [&](int32_t left) {
    if (left < 0 || next[left] < 0) return;
    const int32_t right = next[left];
    if (const Merge* m = merges_.Find(symbols[left], symbols[right])) {
      heap.push(Candidate{m->rank, left, symbols[left], symbols[right]});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const int32_t right = next[c.left];
    if (symbols[c.left] != c.left_id || right < 0 || symbols[right] != c.right_id) continue;
    symbols[c.left] = merges_.Find(c.left_id, c.right_id)->result;
    symbols[right] = kDead;
    next[c.left] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.left;
    push(prev[c.left]);
    push(c.left);
  }
  std::erase(symbols, kDead);
}

}  // namespace bitjit::tokenizer
