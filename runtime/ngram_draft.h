// Drafts for exact speculative decoding taken from the context itself (prompt lookup): the
// longest recent n-gram that ends the tokens so far is looked up earlier in them, and the tokens
// that followed it there are the draft. No second model; text that repeats or echoes its prompt
// (quoting, editing, summarizing) drafts well, other text drafts nothing and costs nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace bitjit {

struct DraftParams {
  int max_tokens = 0;  // tokens drafted per step at most; 0: no drafting
  // Shortest n-gram that may be matched. One-token matches draft often and are often wrong: a
  // rejected draft token costs a verified row (compute), so two is the default.
  int min_match = 2;
  // Longest n-gram tried first: a longer match is likelier to continue the same way.
  static constexpr int kMaxMatch = 4;
  bool enabled() const { return max_tokens > 0; }
};

// Up to `max_tokens` tokens that followed the latest earlier occurrence of the longest suffix
// of `history` (of kMaxMatch down to min_match tokens); empty when no suffix occurs earlier.
std::vector<int32_t> DraftFromContext(std::span<const int32_t> history, const DraftParams& params,
                                      int max_tokens);

// Walks the logits rows of one verification step (the step's first token, then `draft`): row j
// follows draft[0..j-1]. `choose(row)` picks and records the token of a row and returns it, or
// nullopt when generation ends with it. The walk stops there, after the last row, or at the
// first token that differs from the draft. Returns the number of draft tokens accepted.
template <typename Choose>
size_t VerifyDraft(std::span<const float> rows, std::span<const int32_t> draft, Choose&& choose) {
  const size_t vocab = rows.size() / (draft.size() + 1);
  for (size_t j = 0;; ++j) {
    const std::optional<int32_t> id = choose(rows.subspan(j * vocab, vocab));
    if (!id || j == draft.size() || *id != draft[j]) return j;
  }
}

}  // namespace bitjit
