#include "tools/server/generation_setup.h"

#include <algorithm>
#include <cstdint>

#include "frontend/tokenizer/tokenizer.h"
#include "runtime/generation/sequence_generator.h"
#include "tools/server/api_error.h"

namespace bitjit::server {
namespace {

std::vector<int32_t> PromptTokens(const Tokenizer& tokenizer, const CompletionRequest& r) {
  if (r.endpoint == Endpoint::kChat) {
    // Message contents are untrusted text: a user who types "<|eot_id|>" does not end a turn.
    return EncodeChat(tokenizer, tokenizer.chat_template(), r.messages, /*add_bos=*/true,
                      /*parse_special_in_content=*/false);
  }
  if (r.prompt_is_ids) {
    for (int32_t id : r.prompt_ids) {
      if (id >= tokenizer.n_vocab()) {
        throw BadRequest("Token id " + std::to_string(id) + " in 'prompt' is outside the " +
                             "vocabulary of " + std::to_string(tokenizer.n_vocab()) + " tokens.",
                         "prompt", "invalid_value");
      }
    }
    return r.prompt_ids;
  }
  // A raw completion prompt is the caller's own text, as with `bitjit run -p`.
  return tokenizer.Encode(r.prompt, /*add_bos=*/true, /*parse_special=*/true);
}

}  // namespace

GenerationSpec SetUpGeneration(const Tokenizer& tokenizer, int64_t n_ctx,
                               const CompletionRequest& r, uint64_t random_seed) {
  const char* prompt_param = r.endpoint == Endpoint::kChat ? "messages" : "prompt";
  GenerationSpec spec;
  spec.prompt = PromptTokens(tokenizer, r);
  const int64_t n_prompt = static_cast<int64_t>(spec.prompt.size());
  if (n_prompt == 0) throw BadRequest("The prompt is empty.", prompt_param, "invalid_value");
  if (n_prompt >= n_ctx) {
    throw BadRequest("This model's maximum context length is " + std::to_string(n_ctx) +
                         " tokens. However, your prompt has " + std::to_string(n_prompt) +
                         " tokens, which leaves no room for a reply.",
                     prompt_param, "context_length_exceeded");
  }
  // The last sampled token is never fed back, but OpenAI's rule (prompt + max_tokens <= context)
  // is simpler to state and to rely on.
  const int64_t room = n_ctx - n_prompt;
  const int64_t default_max =
      r.endpoint == Endpoint::kCompletion ? std::min<int64_t>(16, room) : room;
  int64_t max_tokens = r.max_tokens.value_or(default_max);
  // llama-server ends a /completion at the end of the context rather than refusing it.
  if (r.endpoint == Endpoint::kLlama) max_tokens = std::min(max_tokens, room);
  if (max_tokens > room) {
    throw BadRequest("This model's maximum context length is " + std::to_string(n_ctx) +
                         " tokens. However, you requested " +
                         std::to_string(n_prompt + max_tokens) + " tokens (" +
                         std::to_string(n_prompt) + " in the prompt, " +
                         std::to_string(max_tokens) + " for the completion).",
                     "max_tokens", "context_length_exceeded");
  }
  spec.max_tokens = static_cast<int>(max_tokens);
  spec.sampling.temperature = r.temperature;
  spec.sampling.top_p = r.top_p;
  spec.sampling.top_k = r.top_k;
  spec.sampling.min_p = r.min_p;
  // The prompt is in the penalty's window too: SequenceGenerator, as for `bitjit run`.
  spec.sampling.repeat_penalty = r.repeat_penalty;
  spec.sampling.repeat_last_n = RepeatWindow(r.repeat_last_n, n_ctx);
  spec.sampling.presence_penalty = r.presence_penalty;
  spec.sampling.frequency_penalty = r.frequency_penalty;
  spec.sampling.seed = r.seed.value_or(random_seed);
  spec.n_logprobs = r.n_logprobs;
  spec.stop = r.stop;
  spec.ignore_eos = r.ignore_eos;
  spec.cache_prompt = r.cache_prompt;
  return spec;
}

}  // namespace bitjit::server
