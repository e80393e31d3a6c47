#include "tools/server/llama_settings.h"

namespace bitjit::server {

nlohmann::json LlamaGenerationSettings(const CompletionRequest& r, const std::string& model) {
  nlohmann::json seed = nullptr;
  if (r.seed) seed = *r.seed;
  return {{"model", model},
          {"n_predict", r.max_tokens ? *r.max_tokens : -1},
          {"temperature", r.temperature},
          {"top_k", r.top_k},
          {"top_p", r.top_p},
          {"min_p", r.min_p},
          {"repeat_penalty", r.repeat_penalty},
          {"repeat_last_n", r.repeat_last_n},
          {"presence_penalty", r.presence_penalty},
          {"frequency_penalty", r.frequency_penalty},
          {"seed", seed},
          {"stop", r.stop},
          {"ignore_eos", r.ignore_eos},
          {"n_probs", r.n_logprobs < 0 ? 0 : r.n_logprobs},
          {"stream", r.stream},
          {"cache_prompt", r.cache_prompt}};
}

}  // namespace bitjit::server
