// How the tokens of one step group into sequences. bitnet.cpp picks some roundings by the
// shape of the batch it was given (one token or many; one logits row or many); with several
// sequences in one step those decisions are made per sequence, so batching changes nothing.
#pragma once

#include <span>
#include <unordered_map>
#include <vector>

#include "runtime/executor.h"

namespace bitjit {

struct BatchLayout {
  explicit BatchLayout(const StepInputs& in)
      : n_tokens(static_cast<int>(in.tokens.size())),
        n_rows(static_cast<int>(in.output_rows.size())),
        decode_steps(in.decode_steps),
        output_rows(in.output_rows) {
    if (in.seq_ids.empty()) return;  // one sequence: the batch's own shape decides (no allocation)
    const auto seq = [&](int64_t t) { return in.seq_ids[t]; };
    std::unordered_map<int32_t, int> tokens_of, rows_of;
    for (size_t t = 0; t < in.tokens.size(); ++t) ++tokens_of[seq(t)];
    for (int32_t r : in.output_rows) ++rows_of[seq(r)];
    for (size_t t = 0; t < in.tokens.size(); ++t) seq_tokens.push_back(tokens_of[seq(t)]);
    for (int32_t r : in.output_rows) seq_rows.push_back(rows_of[seq(r)]);
  }
  // A token whose sequence has no other token in the batch, or one flagged as a decode step,
  // takes bitnet.cpp's decode path.
  bool decode(int64_t t) const {
    return decode_step(t) || (seq_tokens.empty() ? n_tokens : seq_tokens[t]) == 1;
  }
  // A logits row alone for its sequence, or a decode step's row, takes bitnet.cpp's one-row
  // lm_head path.
  bool single_row(int64_t r) const {
    return decode_step(output_rows[r]) || (seq_rows.empty() ? n_rows : seq_rows[r]) == 1;
  }

  int n_tokens, n_rows;
  std::span<const uint8_t> decode_steps;  // StepInputs::decode_steps (empty: none flagged)
  std::span<const int32_t> output_rows;
  std::vector<int> seq_tokens;  // per token: tokens of its sequence in this batch (multi-sequence)
  std::vector<int> seq_rows;    // per logits row: logits rows of its sequence in this batch

 private:
  bool decode_step(int64_t t) const { return !decode_steps.empty() && decode_steps[t] != 0; }
};

}  // namespace bitjit
