#include "frontend/hf/bounded_json.h"

#include <string>

#include "ir/base/error.h"

namespace bitjit::hf {
namespace {

struct TooDeep {};

}  // namespace

nlohmann::json ParseBoundedJson(std::string_view text, int max_depth, std::string_view what,
                                const std::function<void(const std::string& key)>& on_top_key) {
  // The callback sees each value's depth as the parser (an iterative one) reaches it.
  const auto limit = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth > max_depth) throw TooDeep{};
    if (on_top_key && depth == 1 && event == nlohmann::json::parse_event_t::key &&
        parsed.is_string()) {
      on_top_key(parsed.get<std::string>());
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), limit);
  } catch (const TooDeep&) {
    Fail(what, ": JSON nested deeper than ", max_depth, " levels");
  } catch (const nlohmann::json::exception& e) {
    std::string message = e.what();
    // nlohmann's messages can quote the input: keep them to one short line.
    if (message.size() > 160) message = message.substr(0, 160) + "...";
    for (char& ch : message) {
      if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
    }
    Fail(what, ": not valid JSON (", message, ")");
  }
}

}  // namespace bitjit::hf
