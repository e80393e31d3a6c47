// The JSON objects of OpenAI's completion replies, whole ("chat.completion", "text_completion")
// and streamed ("chat.completion.chunk", or "text_completion" chunks), and the server-sent
// events that carry the chunks ("data: {...}\n\n", ending with "data: [DONE]\n\n").
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "tools/server/completion_request.h"
#include "tools/server/finish_reason.h"

namespace bitjit::server {

// What every object of one reply shares.
struct ReplyHeader {
  Endpoint endpoint = Endpoint::kChat;
  std::string id;  // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;
  std::string model;
  bool include_usage = false;  // streamed: chunks carry "usage": null, and a last usage chunk
};

// A fresh header with a random id and the current time.
ReplyHeader NewReplyHeader(Endpoint endpoint, std::string model, bool include_usage);

nlohmann::json Usage(int prompt_tokens, int completion_tokens);

// The whole reply (stream = false).
nlohmann::json CompletionObject(const ReplyHeader& h, const std::string& text, FinishReason finish,
                                int prompt_tokens, int completion_tokens);

// Streamed chat replies start with a chunk whose delta is {"role": "assistant", "content": ""}.
nlohmann::json RoleChunk(const ReplyHeader& h);
// A chunk with more text, or (finish set) the last chunk of choices, with an empty delta/text.
nlohmann::json TextChunk(const ReplyHeader& h, const std::string& text,
                         std::optional<FinishReason> finish = std::nullopt);
// With include_usage: the chunk after the last one, with "choices": [] and the usage.
nlohmann::json UsageChunk(const ReplyHeader& h, int prompt_tokens, int completion_tokens);

// Serialized for the wire. Replaces invalid UTF-8 rather than throwing (replies are valid UTF-8
// already; this guards error messages that quote a client's bytes).
std::string JsonText(const nlohmann::json& j);
std::string SseEvent(const nlohmann::json& data);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

}  // namespace bitjit::server
