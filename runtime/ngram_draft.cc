#include "runtime/ngram_draft.h"

#include <algorithm>

namespace bitjit {

std::vector<int32_t> DraftFromContext(std::span<const int32_t> history, const DraftParams& params,
                                      int max_tokens) {
  const int64_t size = static_cast<int64_t>(history.size());
  const int64_t want = std::min(max_tokens, params.max_tokens);
  if (want <= 0) return {};
  for (int64_t n = std::min<int64_t>(DraftParams::kMaxMatch, size - 1);
       n >= std::max(params.min_match, 1); --n) {
    const auto suffix = history.subspan(size - n);
    // The latest occurrence first: recent text predicts the next tokens best. It must end
    // before the suffix itself does, so that at least one token follows it.
    for (int64_t start = size - n - 1; start >= 0; --start) {
      if (!std::equal(suffix.begin(), suffix.end(), history.begin() + start)) continue;
      const int64_t from = start + n, to = std::min(size, from + want);
      return {history.begin() + from, history.begin() + to};
    }
  }
  return {};
}

}  // namespace bitjit
