#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

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
    while (static_cast<int>(recent_.size()) > std::max(params_.repeat_last_n, 0)) recent_.pop_front();
  }
}

int32_t Sampler::Sample(std::span<const float> logits) {
  const int32_t n = static_cast<int32_t>(logits.size());
  candidates_.resize(n);
  for (int32_t i = 0; i < n; ++i) candidates_[i] = {logits[i], i};
  if (params_.repeat_penalty != 1.0f) {
    std::unordered_set<int32_t> seen(recent_.begin(), recent_.end());
    for (int32_t id : seen) {
      if (id < 0 || id >= n) continue;
      float& l = candidates_[id].first;
      l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
    }
  }
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
      std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), by_logit);
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
