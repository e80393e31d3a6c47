#include "tools/server/openai_format.h"

#include <chrono>
#include <random>

namespace bitjit::server {

using nlohmann::json;

ReplyHeader NewReplyHeader(Endpoint endpoint, std::string model, bool include_usage) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);
  ReplyHeader h;
  h.endpoint = endpoint;
  h.id = endpoint == Endpoint::kChat ? "chatcmpl-" : "cmpl-";
  for (int i = 0; i < 24; ++i) h.id += kAlphabet[pick(rng)];
  h.created = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  h.model = std::move(model);
  h.include_usage = include_usage;
  return h;
}

json Usage(int prompt_tokens, int completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

namespace {

json Envelope(const ReplyHeader& h, bool chunk) {
  const char* object = h.endpoint == Endpoint::kChat
                           ? (chunk ? "chat.completion.chunk" : "chat.completion")
                           : "text_completion";
  return {{"id", h.id},
          {"object", object},
          {"created", h.created},
          {"model", h.model},
          {"system_fingerprint", nullptr}};
}

json FinishJson(std::optional<FinishReason> finish) {
  return finish ? json(ApiName(*finish)) : json(nullptr);
}

json Chunk(const ReplyHeader& h, json choice) {
  json c = Envelope(h, /*chunk=*/true);
  c["choices"] = json::array({std::move(choice)});
  if (h.include_usage) c["usage"] = nullptr;
  return c;
}

}  // namespace

json CompletionObject(const ReplyHeader& h, const std::string& text, FinishReason finish,
                      int prompt_tokens, int completion_tokens) {
  json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", ApiName(finish)}};
  if (h.endpoint == Endpoint::kChat) {
    choice["message"] = {{"role", "assistant"}, {"content", text}, {"refusal", nullptr}};
  } else {
    choice["text"] = text;
  }
  json c = Envelope(h, /*chunk=*/false);
  c["choices"] = json::array({std::move(choice)});
  c["usage"] = Usage(prompt_tokens, completion_tokens);
  return c;
}

json RoleChunk(const ReplyHeader& h) {
  return Chunk(h, {{"index", 0},
                   {"delta", {{"role", "assistant"}, {"content", ""}}},
                   {"logprobs", nullptr},
                   {"finish_reason", nullptr}});
}

json TextChunk(const ReplyHeader& h, const std::string& text, std::optional<FinishReason> finish) {
  json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", FinishJson(finish)}};
  if (h.endpoint == Endpoint::kChat) {
    choice["delta"] = finish && text.empty() ? json::object() : json{{"content", text}};
  } else {
    choice["text"] = text;
  }
  return Chunk(h, std::move(choice));
}

json UsageChunk(const ReplyHeader& h, int prompt_tokens, int completion_tokens) {
  json c = Envelope(h, /*chunk=*/true);
  c["choices"] = json::array();
  c["usage"] = Usage(prompt_tokens, completion_tokens);
  return c;
}

std::string JsonText(const json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

std::string SseEvent(const json& data) {
  return "data: " + JsonText(data) + "\n\n";
}

}  // namespace bitjit::server
