// Picks the next token from a row of logits: greedy, or temperature sampling after
// repetition, presence and frequency penalties, top-k, top-p and min-p filters (llama.cpp's order
// and meanings).
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <vector>

namespace bitjit {

struct SamplerParams {
  float temperature = 0.8f;     // <= 0: greedy (ties go to the lowest id)
  int top_k = 40;               // <= 0: off
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off; divides positive logits, multiplies negative ones
  // OpenAI's penalties, as llama.cpp applies them after the repeat penalty: a token seen c > 0
  // times in the window loses c * frequency_penalty + presence_penalty from its logit.
  float presence_penalty = 0.0f;   // 0: off
  float frequency_penalty = 0.0f;  // 0: off
  int repeat_last_n = 64;          // how many recent tokens the penalties look at
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

  // The logits after the penalties (repeat, frequency, presence) over the window: what Sample
  // filters and draws from.
  std::vector<float> Penalized(std::span<const float> logits) const;

 private:
  SamplerParams params_;
  std::mt19937_64 rng_;
  std::deque<int32_t> recent_;
  std::vector<std::pair<float, int32_t>> candidates_;  // reused between calls
};

}  // namespace bitjit
