#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace bitjit {

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {}

int32_t Sampler::Greedy(std::span<const float> logits) {
  int32_t best = 0;
  for (int32_t i = 1; i < static_cast<int32_t>(logits.size()); ++i)
    if (logits[i] > logits[best]) best = i;
  return best;
}

void Sampler::Remember(std::span<const int32_t> tokens) {
  for (int32_t t : tokens) {
    recent_.push_back(t);
    while (static_cast<int>(recent_.size()) > std::max(params_.repeat_last_n, 0))
      recent_.pop_front();
  }
}

namespace {

bool HasPenalties(const SamplerParams& p) {
  return p.repeat_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f;
}

// llama.cpp's penalties over the window: each distinct token seen there gets the repeat
// penalty once, then loses count * frequency_penalty + presence_penalty. `c` is in id order.
void ApplyPenalties(const SamplerParams& p, const std::deque<int32_t>& recent,
                    std::span<std::pair<float, int32_t>> c) {
  const int32_t n = static_cast<int32_t>(c.size());
  std::unordered_map<int32_t, int> counts;
  for (int32_t id : recent) ++counts[id];
  for (const auto& [id, count] : counts) {
    if (id < 0 || id >= n) continue;
    float& l = c[id].first;
    if (p.repeat_penalty != 1.0f) l = l > 0 ? l / p.repeat_penalty : l * p.repeat_penalty;
    l -= static_cast<float>(count) * p.frequency_penalty + p.presence_penalty;
  }
}

}  // namespace

std::vector<float> Sampler::Penalized(std::span<const float> logits) const {
  std::vector<std::pair<float, int32_t>> c(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) c[i] = {logits[i], static_cast<int32_t>(i)};
  if (HasPenalties(params_)) ApplyPenalties(params_, recent_, c);
  std::vector<float> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = c[i].first;
  return out;
}

int32_t Sampler::Sample(std::span<const float> logits) {
  const int32_t n = static_cast<int32_t>(logits.size());
  candidates_.resize(n);
  for (int32_t i = 0; i < n; ++i) candidates_[i] = {logits[i], i};
  if (HasPenalties(params_)) ApplyPenalties(params_, recent_, candidates_);
  int32_t chosen;
  if (params_.temperature <= 0.0f) {
    // Greedy on the (penalized) logits; ties go to the lowest id.
    chosen = 0;
    for (int32_t i = 1; i < n; ++i)
      if (candidates_[i].first > candidates_[chosen].first) chosen = i;
  } else {
    // Sort by logit descending (ties: lower id first), then cut the tail.
    auto by_logit = [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    size_t keep = candidates_.size();
    if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
      keep = params_.top_k;
      std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(),
                        by_logit);
    } else {
      std::sort(candidates_.begin(), candidates_.end(), by_logit);
    }
    candidates_.resize(keep);
    // Softmax of the survivors at temperature 1 for the p-filters (llama.cpp order: top-k,
    // top-p, min-p, then temperature).
    std::vector<double> probs(keep);
    const double max = candidates_[0].first;
    double sum = 0;
    for (size_t i = 0; i < keep; ++i) sum += probs[i] = std::exp(candidates_[i].first - max);
    for (double& p : probs) p /= sum;
    if (params_.top_p < 1.0f) {
      double cum = 0;
      size_t cut = keep;
      for (size_t i = 0; i < keep; ++i) {
        cum += probs[i];
        if (cum >= params_.top_p) {
          cut = i + 1;
          break;
        }
      }
      keep = cut;
    }
    if (params_.min_p > 0.0f) {
      size_t cut = 1;
      while (cut < keep && probs[cut] >= params_.min_p * probs[0]) ++cut;
      keep = cut;
    }
    // Temperature, then draw.
    std::vector<double> weights(keep);
    for (size_t i = 0; i < keep; ++i)
      weights[i] = std::exp((candidates_[i].first - max) / params_.temperature);
    std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
    chosen = candidates_[pick(rng_)].second;
  }
  Remember(std::span(&chosen, 1));
  return chosen;
}

}  // namespace bitjit
