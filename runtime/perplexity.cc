#include "runtime/perplexity.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>

#include "ir/base/error.h"

namespace bitjit {

double TokenNll(std::span<const float> row, int32_t target) {
  CHECK(target >= 0 && static_cast<size_t>(target) < row.size());
  // Subtracting the max keeps exp() in range; summing in double keeps a 128k-entry vocabulary
  // from losing the small terms.
  const float max = *std::max_element(row.begin(), row.end());
  double sum = 0;
  for (float x : row) sum += std::exp(static_cast<double>(x) - max);
  return static_cast<double>(max) + std::log(sum) - static_cast<double>(row[target]);
}

double NllStats::Ppl() const {
  return std::exp(MeanNll());
}

double NllStats::PplError() const {
  if (count_ < 2) return 0;
  const double mean = MeanNll();
  const double var = sum2_ / count_ - mean * mean;
  if (var <= 0) return 0;
  return Ppl() * std::sqrt(var / (count_ - 1));
}

namespace {

// Where each window starts and which of its positions are scored.
struct WindowPlan {
  int64_t n_ctx = 0, n_windows = 0;
  int64_t first_scored = 0;  // positions first_scored .. n_ctx-2 are scored
  bool bos_first = false;    // replace each window's first token by BOS
};

WindowPlan PlanWindows(const Model& model, int64_t n_tokens, const PerplexityOptions& options) {
  WindowPlan plan;
  if (options.score_all) {
    if (n_tokens < 2) Fail("perplexity needs at least 2 tokens (got ", n_tokens, ")");
    plan.n_ctx = n_tokens;
    plan.n_windows = 1;
    return plan;
  }
  plan.n_ctx = options.n_ctx;
  // With n_ctx < 3 the second half of a window holds no position that predicts a token.
  if (plan.n_ctx < 3)
    Fail("perplexity needs a context of at least 3 tokens (got -c ", plan.n_ctx, ")");
  if (n_tokens < 2 * plan.n_ctx) {
    Fail("perplexity with a context of ", plan.n_ctx, " needs at least ", 2 * plan.n_ctx,
         " tokens, but the input has only ", n_tokens, " (give more text or a smaller -c)");
  }
  plan.n_windows = n_tokens / plan.n_ctx;
  plan.first_scored = plan.n_ctx / 2;
  const Tokenizer& tok = model.tokenizer();
  plan.bos_first = tok.add_bos() && tok.bos_id() >= 0;
  return plan;
}

}  // namespace

PerplexityResult ComputePerplexity(const Model& model, std::span<const int32_t> tokens,
                                   const PerplexityOptions& options,
                                   const PerplexityCallback& on_window) {
  const WindowPlan plan = PlanWindows(model, static_cast<int64_t>(tokens.size()), options);
  const int64_t n_batch = options.n_batch > 0 ? std::min(options.n_batch, plan.n_ctx) : plan.n_ctx;
  const int64_t vocab = model.config().n_vocab;

  PerplexityResult result;
  result.n_tokens = static_cast<int64_t>(tokens.size());
  result.n_windows = plan.n_windows;
  result.n_ctx = plan.n_ctx;
  Session session(model, plan.n_ctx);
  std::vector<int32_t> window(plan.n_ctx);
  std::vector<float> logits;
  for (int64_t w = 0; w < plan.n_windows; ++w) {
    const auto source = tokens.subspan(w * plan.n_ctx, plan.n_ctx);
    std::copy(source.begin(), source.end(), window.begin());
    if (plan.bos_first) window[0] = model.tokenizer().bos_id();
    session.Truncate(0);
    for (int64_t start = 0; start < plan.n_ctx; start += n_batch) {
      const int64_t n = std::min(n_batch, plan.n_ctx - start);
      session.Eval(std::span(window).subspan(start, n), /*all_rows=*/true, &logits);
      // Row r is window position start + r and predicts the token after it; the target is the
      // original token (BOS replaced only the first input, never a target).
      for (int64_t r = 0; r < n; ++r) {
        const int64_t pos = start + r;
        if (pos < plan.first_scored || pos + 1 >= plan.n_ctx) continue;
        const std::span<const float> row(logits.data() + r * vocab, vocab);
        result.stats.Add(TokenNll(row, source[pos + 1]));
      }
    }
    result.running_ppl.push_back(result.stats.Ppl());
    if (on_window) on_window(w, plan.n_windows, result.stats.Ppl());
  }
  return result;
}

}  // namespace bitjit
