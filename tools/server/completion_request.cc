#include "tools/server/completion_request.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>

#include "tools/server/api_error.h"
#include "tools/server/json_body.h"

namespace bitjit::server {
namespace {

using nlohmann::json;

// Field access with OpenAI-style errors. A null value counts as absent, as in the API.
class Fields {
 public:
  explicit Fields(const json& body) : body_(body) {}

  const json* Find(const char* name) const {
    auto it = body_.find(name);
    return it == body_.end() || it->is_null() ? nullptr : &*it;
  }
  std::optional<bool> Bool(const char* name) const {
    const json* v = Find(name);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) throw Invalid(name, "a boolean");
    return v->get<bool>();
  }
  std::optional<double> Number(const char* name, double lo, double hi) const {
    const json* v = Find(name);
    if (!v) return std::nullopt;
    if (!v->is_number()) throw Invalid(name, "a number");
    const double d = v->get<double>();
    if (!(d >= lo && d <= hi)) throw OutOfRange(name, lo, hi, v->dump());
    return d;
  }
  std::optional<int64_t> Integer(const char* name, int64_t lo, int64_t hi) const {
    const json* v = Find(name);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) throw Invalid(name, "an integer");
    const int64_t i = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)
                          ? INT64_MAX
                          : v->get<int64_t>();
    if (i < lo || i > hi) throw OutOfRange(name, double(lo), double(hi), v->dump());
    return i;
  }
  std::optional<std::string> String(const char* name) const {
    const json* v = Find(name);
    if (!v) return std::nullopt;
    if (!v->is_string()) throw Invalid(name, "a string");
    return v->get<std::string>();
  }

  static ApiError Invalid(const std::string& param, const char* what) {
    return BadRequest("Invalid type for '" + param + "': expected " + what + ".", param,
                      "invalid_type");
  }
  static ApiError OutOfRange(const std::string& param, double lo, double hi,
                             const std::string& value) {
    return BadRequest("Invalid value for '" + param + "': " + value + " is not in [" +
                          json(lo).dump() + ", " + json(hi).dump() + "].",
                      param, "invalid_value");
  }

 private:
  const json& body_;
};

// OpenAI takes up to 4 stop strings; llama-server any number (bounded here all the same).
std::vector<std::string> ParseStop(const Fields& f, size_t max_stops) {
  const json* v = f.Find("stop");
  if (!v) return {};
  if (v->is_string()) return {v->get<std::string>()};
  if (!v->is_array()) throw Fields::Invalid("stop", "a string or an array of strings");
  if (v->size() > max_stops) {
    throw BadRequest("'stop' takes at most " + std::to_string(max_stops) + " sequences.", "stop",
                     "invalid_value");
  }
  std::vector<std::string> stops;
  for (const json& s : *v) {
    if (!s.is_string()) throw Fields::Invalid("stop", "a string or an array of strings");
    stops.push_back(s.get<std::string>());
  }
  return stops;
}

// Message content: a string, or an array of {"type": "text", "text": ...} parts (joined).
std::string ParseContent(const json& content, const std::string& param) {
  if (content.is_null()) return {};
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw Fields::Invalid(param, "a string or an array of text parts");
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    // Looked up in place: json::value() would copy whatever a client put there.
    const auto type = part.is_object() ? part.find("type") : part.end();
    const auto part_text = part.is_object() ? part.find("text") : part.end();
    if (part.is_object() && type != part.end() && type->is_string() && *type != "text") {
      // An image, audio or file part: this server reads text only.
      throw BadRequest("Content parts of type '" + type->get<std::string>() +
                           "' are not supported (only \"text\").",
                       param + "[" + std::to_string(i) + "].type", "unsupported_content_type");
    }
    if (!part.is_object() || type == part.end() || part_text == part.end() ||
        !part_text->is_string()) {
      throw BadRequest(
          "Only text content parts ({\"type\": \"text\", \"text\": ...}) are "
          "supported.",
          param, "invalid_value");
    }
    text += part_text->get_ref<const std::string&>();
  }
  return text;
}

std::vector<ChatMessage> ParseMessages(const Fields& f) {
  const json* v = f.Find("messages");
  if (!v)
    throw BadRequest("Missing required parameter: 'messages'.", "messages",
                     "missing_required_parameter");
  if (!v->is_array()) throw Fields::Invalid("messages", "an array");
  if (v->empty()) throw BadRequest("'messages' must not be empty.", "messages", "invalid_value");
  std::vector<ChatMessage> messages;
  for (size_t i = 0; i < v->size(); ++i) {
    const json& m = (*v)[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw Fields::Invalid(at, "an object");
    if (!m.contains("role") || !m["role"].is_string())
      throw Fields::Invalid(at + ".role", "a string");
    std::string role = m["role"].get<std::string>();
    if (role == "developer") role = "system";  // OpenAI's newer name for system messages
    if (role != "system" && role != "user" && role != "assistant") {
      throw BadRequest("Invalid value for '" + at + ".role': '" + role +
                           "' (expected system, developer, user or assistant).",
                       at + ".role", "invalid_value");
    }
    // By reference: the content is whatever the client sent, and copying it costs its size.
    static const json kNoContent;
    const auto content = m.find("content");
    messages.push_back(
        {role, ParseContent(content == m.end() ? kNoContent : *content, at + ".content")});
  }
  return messages;
}

// A prompt is a string, or token ids; lists of several prompts (n > 1 in disguise) are refused.
void ParsePrompt(const Fields& f, CompletionRequest* r) {
  const json* v = f.Find("prompt");
  if (!v)
    throw BadRequest("Missing required parameter: 'prompt'.", "prompt",
                     "missing_required_parameter");
  const json* one = v;
  if (v->is_array() && !v->empty() && !(*v)[0].is_number_integer()) {
    if (v->size() != 1)
      throw BadRequest("Only one prompt per request is supported.", "prompt", "invalid_value");
    one = &(*v)[0];
  }
  if (one->is_string()) {
    r->prompt = one->get<std::string>();
    return;
  }
  if (one->is_array()) {
    r->prompt_is_ids = true;
    for (const json& id : *one) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
        throw Fields::Invalid("prompt", "a string or an array of token ids");
      }
      r->prompt_ids.push_back(id.get<int32_t>());
    }
    if (r->prompt_ids.empty())
      throw BadRequest("'prompt' has no tokens.", "prompt", "invalid_value");
    return;
  }
  throw Fields::Invalid("prompt", "a string or an array of token ids");
}

ApiError NotSupported(const std::string& field, const std::string& why) {
  return BadRequest("'" + field + "' is not supported by this server" + why + ".", field,
                    "unsupported_parameter");
}

// Fields that would change what a client gets back and that bitjit does not implement: refused
// by name, never silently ignored (a client asking for JSON or a tool call must not get prose
// it takes for one). A null value counts as absent.
void RefuseUnsupported(const Fields& f, Endpoint endpoint) {
  if (auto n = f.Integer("n", 1, std::numeric_limits<int64_t>::max()); n && *n != 1) {
    throw BadRequest("Only n = 1 is supported.", "n", "invalid_value");
  }
  if (auto b = f.Integer("best_of", 1, std::numeric_limits<int64_t>::max()); b && *b != 1) {
    throw BadRequest("Only best_of = 1 is supported.", "best_of", "invalid_value");
  }
  if (f.Bool("echo").value_or(false)) throw NotSupported("echo", "");
  for (const char* name : {"tools", "functions"}) {
    const json* v = f.Find(name);
    if (v && !(v->is_array() && v->empty())) throw NotSupported(name, " (no tool calling)");
  }
  for (const char* name : {"tool_choice", "function_call"}) {
    const json* v = f.Find(name);
    if (v && !(v->is_string() && *v == "none")) throw NotSupported(name, " (no tool calling)");
  }
  if (const json* v = f.Find("response_format")) {
    const auto type = v->is_object() ? v->find("type") : v->end();
    if (!v->is_object() || type == v->end() || *type != "text") {
      throw NotSupported("response_format", " (only {\"type\": \"text\"})");
    }
  }
  if (const json* v = f.Find("logit_bias");
      v && !(v->is_object() && v->empty()) && !(v->is_array() && v->empty())) {
    throw NotSupported("logit_bias", "");
  }
  if (const json* v = f.Find("suffix");
      v && !(v->is_string() && v->get_ref<const std::string&>().empty())) {
    throw NotSupported("suffix", " (no fill-in-the-middle)");
  }
  for (const char* name : {"audio", "prediction", "web_search_options", "grammar", "json_schema"}) {
    if (f.Find(name)) throw NotSupported(name, "");
  }
  if (const json* v = f.Find("modalities"); v && *v != json::array({"text"})) {
    throw NotSupported("modalities", " (only [\"text\"])");
  }
  if (endpoint == Endpoint::kLlama) {
    // llama.cpp's other samplers, where a value asks for them.
    if (f.Integer("mirostat", 0, 2).value_or(0) != 0) throw NotSupported("mirostat", "");
    for (const char* name : {"typical_p", "tfs_z"}) {
      if (f.Number(name, 0, 1).value_or(1.0) != 1.0) throw NotSupported(name, "");
    }
    if (f.Number("dynatemp_range", 0, 100).value_or(0.0) != 0.0) {
      throw NotSupported("dynatemp_range", "");
    }
  }
}

// How many log probabilities a request asks for (CompletionRequest::n_logprobs).
int ParseLogprobs(const Fields& f, Endpoint endpoint) {
  if (endpoint == Endpoint::kChat) {
    const bool wanted = f.Bool("logprobs").value_or(false);
    const std::optional<int64_t> top = f.Integer("top_logprobs", 0, 20);
    if (top && !wanted) {
      throw BadRequest("'top_logprobs' needs 'logprobs': true.", "top_logprobs", "invalid_value");
    }
    return wanted ? static_cast<int>(top.value_or(0)) : -1;
  }
  if (endpoint == Endpoint::kCompletion) {
    // OpenAI's legacy API: an integer, the number of likeliest tokens besides the sampled one.
    if (const json* v = f.Find("logprobs"); v && v->is_boolean()) {
      return v->get<bool>() ? 0 : -1;  // some clients send a boolean
    }
    return static_cast<int>(f.Integer("logprobs", 0, 20).value_or(-1));
  }
  const int n_probs = static_cast<int>(f.Integer("n_probs", 0, 100).value_or(0));
  return n_probs > 0 ? n_probs : -1;
}

}  // namespace

CompletionRequest ParseCompletionRequest(Endpoint endpoint, std::string_view body,
                                         const RequestDefaults& defaults) {
  const json doc = ParseJsonObject(body);
  const Fields f(doc);
  CompletionRequest r;
  r.endpoint = endpoint;
  r.model = f.String("model").value_or("");
  if (endpoint == Endpoint::kChat) {
    r.messages = ParseMessages(f);
    const bool has_system = std::any_of(r.messages.begin(), r.messages.end(),
                                        [](const ChatMessage& m) { return m.role == "system"; });
    if (!has_system && !defaults.system_prompt.empty()) {
      r.messages.insert(r.messages.begin(), ChatMessage{"system", defaults.system_prompt});
    }
  } else {
    ParsePrompt(f, &r);
  }
  RefuseUnsupported(f, endpoint);
  const bool llama = endpoint == Endpoint::kLlama;
  r.max_tokens = defaults.max_tokens;
  if (llama) {
    // llama-server's n_predict (or max_tokens): -1 = until the context is full.
    const char* name = f.Find("n_predict") ? "n_predict" : "max_tokens";
    if (auto m = f.Integer(name, -1, INT32_MAX)) {
      if (*m == 0) throw BadRequest("'n_predict' must be -1 or at least 1.", name, "invalid_value");
      r.max_tokens = *m < 0 ? std::nullopt : std::optional<int>(static_cast<int>(*m));
    }
  } else {
    const char* name = f.Find("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
    if (auto m = f.Integer(name, 1, INT32_MAX)) r.max_tokens = static_cast<int>(*m);
  }
  // /completion samples with llama-server's defaults; the OpenAI routes with OpenAI's.
  r.temperature =
      static_cast<float>(f.Number("temperature", 0, llama ? 100 : 2)
                             .value_or(defaults.temperature.value_or(llama ? 0.8 : 1.0)));
  r.top_p = static_cast<float>(f.Number("top_p", 0, 1).value_or(llama ? 0.95 : 1.0));
  r.top_k = static_cast<int>(f.Integer("top_k", 0, INT32_MAX).value_or(llama ? 40 : 0));
  r.min_p = static_cast<float>(f.Number("min_p", 0, 1).value_or(llama ? 0.05 : 0.0));
  r.repeat_penalty = static_cast<float>(f.Number("repeat_penalty", 0, 10).value_or(1.0));
  if (r.repeat_penalty <= 0.0f) throw Fields::Invalid("repeat_penalty", "a number in (0, 10]");
  r.repeat_last_n = static_cast<int>(f.Integer("repeat_last_n", -1, INT32_MAX).value_or(64));
  if (auto s = f.Integer("seed", std::numeric_limits<int64_t>::min(),
                         std::numeric_limits<int64_t>::max())) {
    r.seed = static_cast<uint64_t>(*s);
  }
  r.presence_penalty = static_cast<float>(f.Number("presence_penalty", -2, 2).value_or(0.0));
  r.frequency_penalty = static_cast<float>(f.Number("frequency_penalty", -2, 2).value_or(0.0));
  r.n_logprobs = ParseLogprobs(f, endpoint);
  r.stop = ParseStop(f, llama ? 16 : 4);
  r.ignore_eos = f.Bool("ignore_eos").value_or(false);
  r.cache_prompt = f.Bool("cache_prompt").value_or(true);
  r.stream = f.Bool("stream").value_or(false);
  if (const json* so = f.Find("stream_options")) {
    if (!so->is_object()) throw Fields::Invalid("stream_options", "an object");
    const Fields sf(*so);
    if (auto u = sf.Bool("include_usage")) r.include_usage = *u;
  }
  return r;
}

}  // namespace bitjit::server
