// Comparing candidates on a noisy, shared machine. A slow period (another process's build, a
// frequency change) must not decide a comparison, so candidates are never timed in separate
// blocks: every round times one sample of each candidate, in an order rotated per round (none
// always runs first, right after another's cache state), and a candidate's figure is the
// median of its samples, which ignores the rounds that noise spoiled.
#pragma once

#include <functional>
#include <vector>

namespace bitjit::tuning {

struct BenchCandidate {
  std::function<void()> call;  // one unit of work (e.g. one matmul over all rows)
  double work = 0;             // of one call, in the figure's unit (bytes, ops)
  std::vector<double> rates;   // work per second of each sample, filled by RunInterleaved
  double Median() const { return Quantile(0.5); }
  double Quantile(double q) const;  // of the rates, interpolated; 0 without samples
};

struct BenchOptions {
  double seconds = 1;  // rounds continue until this much time has passed ...
  int min_rounds = 3;  // ... and at least this many rounds ran (a median needs a few)
  int max_rounds = 1000;
  std::function<void()> tick;  // called after every sample (progress)
};

// Warms every candidate up (one call each, untimed: JIT code, page faults), then sizes each
// sample to a few milliseconds of calls and runs rounds. Returns the rounds run.
int RunInterleaved(std::vector<BenchCandidate>* candidates, const BenchOptions& options);

// How much faster `a` ran than `b`: a quantile (0.5 = the median) over rounds of a's rate / b's
// rate in the same round. Samples of one round are taken moments apart, so a slow period slows
// both and cancels in the ratio, which a ratio of two medians would not do. 0 without samples.
double PairedRatio(const BenchCandidate& a, const BenchCandidate& b, double quantile = 0.5);

// True when `a` beat `b` by more than `min_gain` (0.02 = 2%) in the median round and was
// faster in at least three rounds of four (lower quartile of the ratios > 1): a gain that noise
// alone rarely fakes, so a choice does not move away from the defaults on a fluke.
bool ClearlyFaster(const BenchCandidate& a, const BenchCandidate& b, double min_gain);

// The eligible candidate with the best median PairedRatio against `fallback` among those
// ClearlyFaster than it; `fallback` when there is none. Without a fallback (-1): the eligible
// candidate with the best median rate.
int PickWinner(const std::vector<BenchCandidate>& candidates, const std::vector<bool>& eligible,
               int fallback, double min_gain);

}  // namespace bitjit::tuning
