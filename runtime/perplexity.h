// Perplexity the way llama.cpp's llama-perplexity measures it, so that bitjit's numbers can be
// set beside the ones published for bitnet.cpp and llama.cpp: the token stream is cut into
// non-overlapping windows of n_ctx tokens; each window is evaluated from an empty cache with
// its first token replaced by BOS; and only the second half of each window is scored
// (positions n_ctx/2 .. n_ctx-2, each predicting the next token), so every scored token has
// seen at least n_ctx/2 tokens of context.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "runtime/model.h"

namespace bitjit {

// -log softmax(row)[target], with the exponentials summed in double.
double TokenNll(std::span<const float> row, int32_t target);

// Running sums of per-token NLL, giving PPL and llama.cpp's error estimate.
class NllStats {
 public:
  void Add(double nll) {
    sum_ += nll;
    sum2_ += nll * nll;
    ++count_;
  }
  int64_t count() const { return count_; }
  double MeanNll() const { return count_ ? sum_ / count_ : 0.0; }
  double Ppl() const;
  // llama.cpp's "+/-": the standard error of the mean NLL, sqrt(var / (count - 1)) with var the
  // population variance E[x^2] - E[x]^2, carried to PPL to first order (d exp(x) = exp(x) dx).
  // 0 when there are fewer than 2 tokens or the variance rounds to <= 0.
  double PplError() const;

 private:
  double sum_ = 0, sum2_ = 0;
  int64_t count_ = 0;
};

struct PerplexityOptions {
  int64_t n_ctx = 512;  // window size in tokens
  // Tokens per Session::Eval call inside a window (a window still starts from an empty cache);
  // <= 0: the whole window in one batch. Smaller batches bound the logits kept in memory.
  int64_t n_batch = 0;
  // One window holding every token, all positions scored (0 .. n-2), no BOS replacement:
  // the perplexity of exactly the given sequence. n_ctx is then the sequence length.
  bool score_all = false;
};

struct PerplexityResult {
  NllStats stats;
  int64_t n_tokens = 0;   // tokens in the input
  int64_t n_windows = 0;  // windows evaluated (the tail after the last whole window is unused)
  int64_t n_ctx = 0;      // the window size used
  std::vector<double> running_ppl;  // PPL over all windows so far, after each window
};

// Called after each window with its 0-based index and the running PPL.
using PerplexityCallback = std::function<void(int64_t window, int64_t n_windows, double ppl)>;

// Throws bitjit::Error when the input is too short (at least 2 * n_ctx tokens, as in
// llama.cpp; at least 2 tokens with score_all) or the window does not fit the model.
PerplexityResult ComputePerplexity(const Model& model, std::span<const int32_t> tokens,
                                   const PerplexityOptions& options,
                                   const PerplexityCallback& on_window = {});

}  // namespace bitjit
