// Log probabilities of generated tokens, as OpenAI's logprobs and llama-server's n_probs report
// them: the log-softmax of the model's logits at the position a token was sampled from (before
// penalties, filters and temperature), for the sampled token and for the k likeliest ones.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace bitjit::server {

struct TokenLogprobs {
  float logprob = 0;                           // the sampled token's
  std::vector<std::pair<int32_t, float>> top;  // the k likeliest: (id, logprob), best first
};

// One sampled token as the scheduler hands it to the connection.
struct GeneratedToken {
  int32_t id = -1;
  std::optional<TokenLogprobs> logprobs;  // when the request asked for them
};

// Computed in double; ties in the top list go to the lower id. `top_k` may exceed the vocabulary.
TokenLogprobs ComputeLogprobs(std::span<const float> logits, int32_t chosen, int top_k);

}  // namespace bitjit::server
