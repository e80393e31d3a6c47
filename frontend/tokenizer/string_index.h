// A compact open-addressing index from strings to token ids, for vocabulary-sized tables
// (128k entries) that are looked up hundreds of thousands of times while a tokenizer loads.
// std::unordered_map allocates a node per entry and misses the cache on every probe; this is
// one array of ids with the strings kept where they already are (the caller's storage).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace bitjit::tokenizer {

class StringIndex {
 public:
  // Indexes ids 0..n-1 for which `include(id)`; `key(id)` is the string of id, and the
  // strings must outlive the index.
  template <typename KeyOf, typename Include>
  void Build(size_t n, KeyOf key, Include include) {
    size_t capacity = 16;
    while (capacity < n * 2) capacity *= 2;
    slots_.assign(capacity, kEmpty);
    keys_.resize(n);
    mask_ = capacity - 1;
    for (size_t id = 0; id < n; ++id) keys_[id] = key(id);
    for (size_t id = 0; id < n; ++id) {
      if (include(id)) Insert(static_cast<int32_t>(id));
    }
  }
  template <typename KeyOf>
  void Build(size_t n, KeyOf key) {
    Build(n, key, [](size_t) { return true; });
  }

  // The id of `s`, or -1. When a string occurs more than once the highest id wins.
  int32_t Find(std::string_view s) const {
    if (slots_.empty()) return -1;
    for (size_t i = Hash(s) & mask_;; i = (i + 1) & mask_) {
      const int32_t id = slots_[i];
      if (id == kEmpty) return -1;
      if (keys_[id] == s) return id;
    }
  }

 private:
  static constexpr int32_t kEmpty = -1;
  static size_t Hash(std::string_view s) { return std::hash<std::string_view>{}(s); }
  void Insert(int32_t id);

  std::vector<int32_t> slots_;
  std::vector<std::string_view> keys_;
  size_t mask_ = 0;
};

}  // namespace bitjit::tokenizer
