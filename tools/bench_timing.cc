#include "tools/bench_timing.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace bitjit::cli {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

double TimePrompt(Session& session, std::span<const int32_t> tokens, int n_batch) {
  const size_t batch = n_batch > 0 ? static_cast<size_t>(n_batch) : tokens.size();
  std::vector<float> logits;
  const auto start = std::chrono::steady_clock::now();
  for (size_t at = 0; at < tokens.size(); at += batch) {
    session.Eval(tokens.subspan(at, std::min(batch, tokens.size() - at)), false, &logits);
  }
  return Seconds(start);
}

double TimeGeneration(Session& session, std::span<const int32_t> tokens) {
  std::vector<float> logits;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < tokens.size(); ++i) session.Eval(tokens.subspan(i, 1), false, &logits);
  return Seconds(start);
}

}  // namespace bitjit::cli
