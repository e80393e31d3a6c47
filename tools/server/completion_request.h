// The body of POST /v1/chat/completions and POST /v1/completions, parsed and checked field by
// field (types, ranges, and the features bitjit does not offer such as n > 1 or tools). Anything
// wrong is an ApiError (400) that names the field, as OpenAI's API does. Fields that do not change
// bitjit's output (user, metadata, ...) are accepted and ignored; fields that would (tools,
// response_format json, ...) are refused rather than ignored. Also llama-server's own POST
// /completion, whose fields have llama.cpp's names and defaults (n_predict, n_probs, ...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/tokenizer/chat_format.h"

namespace bitjit::server {

// kChat: /v1/chat/completions; kCompletion: /v1/completions; kLlama: llama-server's /completion.
enum class Endpoint { kChat, kCompletion, kLlama };

struct CompletionRequest {
  Endpoint endpoint = Endpoint::kChat;
  std::string model;                  // empty when not given
  std::vector<ChatMessage> messages;  // kChat
  // kCompletion: the prompt as text, or as token ids when prompt_is_ids.
  std::string prompt;
  std::vector<int32_t> prompt_ids;
  bool prompt_is_ids = false;

  // Absent: the rest of the context (chat, /completion) or 16 (completions).
  std::optional<int> max_tokens;
  float temperature = 1.0f;  // OpenAI's defaults (/completion: llama-server's); 0 = greedy
  float top_p = 1.0f;
  int top_k = 0;  // extensions (llama.cpp's names); 0 = off
  float min_p = 0.0f;
  float repeat_penalty = 1.0f;  // llama-server's: 1 = off
  int repeat_last_n = 64;       // -1: the whole context
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  // -1: no log probabilities; k >= 0: each sampled token's, with the k likeliest tokens'
  // (chat: logprobs + top_logprobs; completions: logprobs = k; /completion: n_probs = k > 0).
  int n_logprobs = -1;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  bool ignore_eos = false;  // extension: generate max_tokens tokens whatever comes
  // Extension (llama-server's): may reuse a slot's cached prefix of the prompt.
  bool cache_prompt = true;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// What the server's command line sets for requests that do not say (llama-server's -n, --temp
// and -p): absent = OpenAI's defaults above.
struct RequestDefaults {
  std::optional<int> max_tokens;
  std::optional<float> temperature;
  std::string system_prompt;  // put first in a chat that has no system message
};

// Throws ApiError.
CompletionRequest ParseCompletionRequest(Endpoint endpoint, std::string_view body,
                                         const RequestDefaults& defaults = {});

}  // namespace bitjit::server
