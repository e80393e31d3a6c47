#include "tools/server/completion_request.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>

#include "tools/server/api_error.h"
#include "tools/server/json_depth.h"

namespace bitjit::server {
namespace {

using nlohmann::json;

// The deepest nesting a body may have. A valid request nests 5 levels at most (body, messages,
// message, content parts, part); the bound leaves room for clients' extra fields while keeping
// every recursive walk of the parsed value (copy, dump, destruction) far from the stack's end.
constexpr size_t kMaxJsonDepth = 64;

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

std::vector<std::string> ParseStop(const Fields& f) {
  const json* v = f.Find("stop");
  if (!v) return {};
  if (v->is_string()) return {v->get<std::string>()};
  if (!v->is_array()) throw Fields::Invalid("stop", "a string or an array of strings");
  if (v->size() > 4) throw BadRequest("'stop' takes at most 4 sequences.", "stop", "invalid_value");
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
  for (const json& part : content) {
    // Looked up in place: json::value() would copy whatever a client put there.
    const auto type = part.is_object() ? part.find("type") : part.end();
    const auto part_text = part.is_object() ? part.find("text") : part.end();
    if (!part.is_object() || type == part.end() || *type != "text" || part_text == part.end() ||
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

void RefuseUnsupported(const Fields& f) {
  if (auto n = f.Integer("n", 1, std::numeric_limits<int64_t>::max()); n && *n != 1) {
    throw BadRequest("Only n = 1 is supported.", "n", "invalid_value");
  }
  if (auto b = f.Integer("best_of", 1, std::numeric_limits<int64_t>::max()); b && *b != 1) {
    throw BadRequest("Only best_of = 1 is supported.", "best_of", "invalid_value");
  }
  if (f.Bool("echo").value_or(false))
    throw BadRequest("'echo' is not supported.", "echo", "invalid_value");
  const json* logprobs = f.Find("logprobs");
  if (logprobs && !(logprobs->is_boolean() && !logprobs->get<bool>())) {
    throw BadRequest("'logprobs' is not supported.", "logprobs", "invalid_value");
  }
}

}  // namespace

CompletionRequest ParseCompletionRequest(Endpoint endpoint, std::string_view body,
                                         const RequestDefaults& defaults) {
  // Measured before parsing: a deep value would overflow the stack once it exists.
  if (const size_t depth = JsonNestingDepth(body); depth > kMaxJsonDepth) {
    throw BadRequest("The JSON body nests arrays and objects " + std::to_string(depth) +
                         " levels deep; at most " + std::to_string(kMaxJsonDepth) +
                         " are accepted.",
                     "", "invalid_json");
  }
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    throw BadRequest("We could not parse the JSON body of your request (it is not valid JSON).", "",
                     "invalid_json");
  }
  if (!doc.is_object())
    throw BadRequest("The request body must be a JSON object.", "", "invalid_json");
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
  RefuseUnsupported(f);
  const char* max_name = f.Find("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  r.max_tokens = defaults.max_tokens;
  if (auto m = f.Integer(max_name, 1, INT32_MAX)) r.max_tokens = static_cast<int>(*m);
  r.temperature = static_cast<float>(
      f.Number("temperature", 0, 2).value_or(defaults.temperature.value_or(1.0f)));
  r.top_p = static_cast<float>(f.Number("top_p", 0, 1).value_or(1.0));
  r.top_k = static_cast<int>(f.Integer("top_k", 0, INT32_MAX).value_or(0));
  r.min_p = static_cast<float>(f.Number("min_p", 0, 1).value_or(0.0));
  r.repeat_penalty = static_cast<float>(f.Number("repeat_penalty", 0, 10).value_or(1.0));
  if (r.repeat_penalty <= 0.0f) throw Fields::Invalid("repeat_penalty", "a number in (0, 10]");
  r.repeat_last_n = static_cast<int>(f.Integer("repeat_last_n", -1, INT32_MAX).value_or(64));
  if (auto s = f.Integer("seed", std::numeric_limits<int64_t>::min(),
                         std::numeric_limits<int64_t>::max())) {
    r.seed = static_cast<uint64_t>(*s);
  }
  r.stop = ParseStop(f);
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
