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

double BenchCandidate::Median() const {
  if (rates.empty()) return 0;
  std::vector<double> s = rates;
  std::sort(s.begin(), s.end());
  const size_t m = s.size() / 2;
  return s.size() % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

int RunInterleaved(std::vector<BenchCandidate>* candidates, const BenchOptions& options) {
  std::vector<BenchCandidate>& c = *candidates;
  if (c.empty()) return 0;
  const auto start = Clock::now();
  // Samples long enough that timer and scheduling jitter are small (~1%), short enough that
  // the budget holds many rounds; a call longer than that is a sample by itself.
  const int planned_rounds = std::max(options.min_rounds, 8);
  const double sample_s = std::clamp(
      options.seconds / (static_cast<double>(c.size()) * planned_rounds), 0.5e-3, 10e-3);
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

double PairedRatio(const BenchCandidate& a, const BenchCandidate& b) {
  BenchCandidate ratios;
  for (size_t r = 0; r < std::min(a.rates.size(), b.rates.size()); ++r)
    if (b.rates[r] > 0) ratios.rates.push_back(a.rates[r] / b.rates[r]);
  return ratios.Median();
}

int PickWinner(const std::vector<BenchCandidate>& candidates, const std::vector<bool>& eligible,
               int fallback, double min_gain) {
  int best = -1;
  double best_score = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!eligible[i]) continue;
    const double score = fallback < 0 ? candidates[i].Median()
                         : static_cast<int>(i) == fallback
                             ? 1.0
                             : PairedRatio(candidates[i], candidates[fallback]);
    if (best < 0 || score > best_score) {
      best = static_cast<int>(i);
      best_score = score;
    }
  }
  if (fallback >= 0 && best_score <= 1 + min_gain) return fallback;
  return best;
}

}  // namespace bitjit::tuning
