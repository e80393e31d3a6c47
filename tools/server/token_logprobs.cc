#include "tools/server/token_logprobs.h"

#include <algorithm>
#include <cmath>

namespace bitjit::server {

TokenLogprobs ComputeLogprobs(std::span<const float> logits, int32_t chosen, int top_k) {
  const int32_t n = static_cast<int32_t>(logits.size());
  double max = logits.empty() ? 0.0 : logits[0];
  for (float l : logits) max = std::max(max, double(l));
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l) - max);
  const double log_z = max + std::log(sum);
  TokenLogprobs out;
  out.logprob = chosen >= 0 && chosen < n ? static_cast<float>(logits[chosen] - log_z) : 0.0f;
  const int32_t k = std::clamp<int32_t>(top_k, 0, n);
  if (k == 0) return out;
  std::vector<int32_t> ids(n);
  for (int32_t i = 0; i < n; ++i) ids[i] = i;
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  out.top.reserve(k);
  for (int32_t i = 0; i < k; ++i) {
    out.top.emplace_back(ids[i], static_cast<float>(logits[ids[i]] - log_z));
  }
  return out;
}

}  // namespace bitjit::server
