#include "runtime/tuning/interleaved_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace bitjit::tuning {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

double BenchCandidate::Quantile(double q) const {
  if (rates.empty()) return 0;
  std::vector<double> s = rates;
  std::sort(s.begin(), s.end());
  const double at = std::clamp(q, 0.0, 1.0) * static_cast<double>(s.size() - 1);
  const size_t lo = static_cast<size_t>(at);
  const size_t hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (s[hi] - s[lo]) * (at - static_cast<double>(lo));
}

int RunInterleaved(std::vector<BenchCandidate>* candidates, const BenchOptions& options) {
  std::vector<BenchCandidate>& c = *candidates;
  if (c.empty()) return 0;
  const auto start = Clock::now();
  // Samples long enough that timer and scheduling jitter are small (~1%), short enough that
  // the budget holds many rounds; a call longer than that is a sample by itself.
  const int planned_rounds = std::max(options.min_rounds, 8);
  const double sample_s =
      std::clamp(options.seconds / (static_cast<double>(c.size()) * planned_rounds), 0.5e-3, 10e-3);
  std::vector<int> calls(c.size(), 1);
  for (size_t i = 0; i < c.size(); ++i) {
    c[i].call();  // warm-up
    const auto t0 = Clock::now();
    c[i].call();
    const double one = std::max(1e-7, Seconds(t0, Clock::now()));
    calls[i] = static_cast<int>(std::clamp(std::ceil(sample_s / one), 1.0, 1e5));
  }
  int rounds = 0;
  while (rounds < options.max_rounds &&
         (rounds < options.min_rounds || Seconds(start, Clock::now()) < options.seconds)) {
    for (size_t j = 0; j < c.size(); ++j) {
      BenchCandidate& b = c[(j + static_cast<size_t>(rounds)) % c.size()];
      const int n = calls[(j + static_cast<size_t>(rounds)) % c.size()];
      const auto t0 = Clock::now();
      for (int i = 0; i < n; ++i) b.call();
      const double s = std::max(1e-9, Seconds(t0, Clock::now()));
      b.rates.push_back(b.work * n / s);
      if (options.tick) options.tick();
    }
    ++rounds;
  }
  return rounds;
}

double PairedRatio(const BenchCandidate& a, const BenchCandidate& b, double quantile) {
  BenchCandidate ratios;
  for (size_t r = 0; r < std::min(a.rates.size(), b.rates.size()); ++r)
    if (b.rates[r] > 0) ratios.rates.push_back(a.rates[r] / b.rates[r]);
  return ratios.Quantile(quantile);
}

bool ClearlyFaster(const BenchCandidate& a, const BenchCandidate& b, double min_gain) {
  return PairedRatio(a, b) > 1 + min_gain && PairedRatio(a, b, 0.25) > 1;
}

int PickWinner(const std::vector<BenchCandidate>& candidates, const std::vector<bool>& eligible,
               int fallback, double min_gain) {
  int best = fallback;
  double best_score = fallback < 0 ? 0 : 1;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!eligible[i] || static_cast<int>(i) == fallback) continue;
    double score;
    if (fallback < 0) {
      score = candidates[i].Median();
    } else if (ClearlyFaster(candidates[i], candidates[fallback], min_gain)) {
      score = PairedRatio(candidates[i], candidates[fallback]);
    } else {
      continue;
    }
    if (best < 0 || score > best_score) {
      best = static_cast<int>(i);
      best_score = score;
    }
  }
  return best;
}

}  // namespace bitjit::tuning
