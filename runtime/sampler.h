// Picks the next token from a row of logits: greedy, or temperature sampling after
// repetition penalty, top-k, top-p and min-p filters (llama.cpp's order and meanings).
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <vector>

namespace bitjit {

struct SamplerParams {
  float temperature = 0.8f;   // <= 0: greedy (ties go to the lowest id)
  int top_k = 40;             // <= 0: off
  float top_p = 0.95f;        // >= 1: off
  float min_p = 0.05f;        // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off; divides positive logits, multiplies negative ones
  int repeat_last_n = 64;     // how many recent tokens the penalty looks at
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);

  // Chooses a token from `logits` (n_vocab floats); remembers it for the repetition penalty.
  int32_t Sample(std::span<const float> logits);
  // Makes tokens (e.g. the prompt) count for the repetition penalty.
  void Remember(std::span<const int32_t> tokens);
  void Reset() { recent_.clear(); }

  static int32_t Greedy(std::span<const float> logits);

 private:
  SamplerParams params_;
  std::mt19937_64 rng_;
  std::deque<int32_t> recent_;
  std::vector<std::pair<float, int32_t>> candidates_;  // reused between calls
};

}  // namespace bitjit
