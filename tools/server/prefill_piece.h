// How many prompt tokens a request evaluates in the next step (chunked prefill). bitnet.cpp
// rounds a token evaluated alone (a decode step) differently from one of a multi-token batch,
// so a piece never leaves a lone token behind nor is one itself (unless the whole rest is one
// token): a prompt in pieces gives the same numbers as the prompt at once. The price is that a
// piece may be one token over the budget.
#pragma once

#include <cstdint>

namespace bitjit::server {

// `left`: prompt tokens still to evaluate (>= 1); `budget`: prompt tokens this step may still
// take (may be 0 or -1 once spent). Returns 0 (none this step) or the piece's length.
inline int64_t PrefillPiece(int64_t left, int64_t budget) {
  if (left <= budget + 1) return left <= 1 || budget >= 1 ? left : 0;
  return budget >= 2 ? budget : 0;
}

}  // namespace bitjit::server
