#include "frontend/tokenizer/string_index.h"

namespace bitjit::tokenizer {

void StringIndex::Insert(int32_t id) {
  const std::string_view s = keys_[id];
  for (size_t i = Hash(s) & mask_;; i = (i + 1) & mask_) {
    const int32_t other = slots_[i];
    if (other == kEmpty) {
      slots_[i] = id;
      return;
    }
    if (keys_[other] == s) {  // a repeated string: the later id wins
      slots_[i] = id;
      return;
    }
  }
}

}  // namespace bitjit::tokenizer
