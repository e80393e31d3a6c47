#include "tools/server/llama_routes.h"

#include <vector>

#include "frontend/tokenizer/tokenizer.h"
#include "frontend/tokenizer/utf8_chars.h"
#include "tools/server/api_error.h"
#include "tools/server/json_body.h"
#include "tools/server/llama_settings.h"

namespace bitjit::server {
namespace {

using nlohmann::json;

bool BoolField(const json& body, const char* name, bool fallback) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) {
    throw BadRequest(std::string("Invalid type for '") + name + "': expected a boolean.", name,
                     "invalid_type");
  }
  return it->get<bool>();
}

bool IsUtf8(std::string_view bytes) {
  for (size_t pos = 0; pos < bytes.size();) {
    if (tokenizer::DecodeUtf8(bytes, &pos) < 0) return false;
  }
  return true;
}

}  // namespace

json TokenizeReply(const Tokenizer& tokenizer, std::string_view body) {
  const json doc = ParseJsonObject(body);
  const auto content = doc.find("content");
  if (content == doc.end() || !content->is_string()) {
    throw BadRequest("'content' must be a string.", "content",
                     content == doc.end() ? "missing_required_parameter" : "invalid_type");
  }
  const std::vector<int32_t> ids =
      tokenizer.Encode(content->get_ref<const std::string&>(), BoolField(doc, "add_special", false),
                       BoolField(doc, "parse_special", true));
  json tokens = json::array();
  const bool with_pieces = BoolField(doc, "with_pieces", false);
  for (int32_t id : ids) {
    if (!with_pieces) {
      tokens.push_back(id);
      continue;
    }
    const int32_t one[] = {id};
    const std::string piece = tokenizer.Decode(one);
    json bytes = json::array();
    for (unsigned char c : piece) bytes.push_back(int(c));
    tokens.push_back({{"id", id}, {"piece", IsUtf8(piece) ? json(piece) : bytes}});
  }
  return {{"tokens", std::move(tokens)}};
}

json DetokenizeReply(const Tokenizer& tokenizer, std::string_view body) {
  const json doc = ParseJsonObject(body);
  const auto tokens = doc.find("tokens");
  if (tokens == doc.end() || !tokens->is_array()) {
    throw BadRequest("'tokens' must be an array of token ids.", "tokens",
                     tokens == doc.end() ? "missing_required_parameter" : "invalid_type");
  }
  std::vector<int32_t> ids;
  for (const json& t : *tokens) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tokenizer.n_vocab()) {
      throw BadRequest("'tokens' holds " + t.dump() + ", which is not a token id of this " +
                           "model (0.." + std::to_string(tokenizer.n_vocab() - 1) + ").",
                       "tokens", "invalid_value");
    }
    ids.push_back(t.get<int32_t>());
  }
  return {{"content", tokenizer.Decode(ids)}};
}

json PropsReply(const ServerProps& p, const SchedulerStats& stats) {
  // The settings a /completion that sets nothing gets.
  const CompletionRequest defaults =
      ParseCompletionRequest(Endpoint::kLlama, R"({"prompt": ""})", p.defaults);
  return {{"default_generation_settings",
           {{"n_ctx", p.n_ctx}, {"params", LlamaGenerationSettings(defaults, p.model_id)}}},
          {"total_slots", stats.slots_total},
          {"model_alias", p.model_id},
          {"model_path", p.model_path},
          {"chat_template", p.chat_template},
          {"modalities", {{"vision", false}, {"audio", false}}},
          {"n_ctx", p.n_ctx},
          {"build_info", "bitjit"}};
}

json SlotsReply(const SchedulerStats& stats, int64_t n_ctx) {
  json slots = json::array();
  for (const SlotStats& s : stats.slots) {
    slots.push_back({{"id", s.id},
                     {"n_ctx", n_ctx},
                     {"is_processing", s.busy},
                     {"n_past", s.n_past},
                     {"n_prompt_tokens", s.n_prompt},
                     {"next_token", {{"has_next_token", s.busy}, {"n_decoded", s.n_decoded}}}});
  }
  return slots;
}

HealthAnswer HealthReply(const SchedulerStats& s) {
  const json slots = {{"slots_total", s.slots_total},
                      {"slots_idle", s.slots_total - s.slots_busy},
                      {"slots_busy", s.slots_busy},
                      {"requests_waiting", s.waiting}};
  if (s.draining) {  // after SIGTERM: a load balancer's readiness check takes this server out
    json body = slots;
    body["status"] = "draining";
    return {503, body};
  }
  if (s.stopping) {
    ApiError e;
    e.status = 503;
    e.message = "The server is shutting down.";
    e.type = "unavailable_error";
    e.code = "server_shutting_down";
    return {503, e.ToJson()};
  }
  json body = slots;
  body["status"] = "ok";
  return {200, body};
}

}  // namespace bitjit::server
