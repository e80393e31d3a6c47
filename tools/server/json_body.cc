#include "tools/server/json_body.h"

#include <string>

#include "tools/server/api_error.h"
#include "tools/server/json_depth.h"

namespace bitjit::server {
namespace {

// The deepest nesting a body may have. A valid request nests 5 levels at most (body, messages,
// message, content parts, part); the bound leaves room for clients' extra fields while keeping
// every recursive walk of the parsed value (copy, dump, destruction) far from the stack's end.
constexpr size_t kMaxJsonDepth = 64;

}  // namespace

nlohmann::json ParseJsonObject(std::string_view body) {
  if (const size_t depth = JsonNestingDepth(body); depth > kMaxJsonDepth) {
    throw BadRequest("The JSON body nests arrays and objects " + std::to_string(depth) +
                         " levels deep; at most " + std::to_string(kMaxJsonDepth) +
                         " are accepted.",
                     "", "invalid_json");
  }
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    throw BadRequest("We could not parse the JSON body of your request (it is not valid JSON).", "",
                     "invalid_json");
  }
  if (!doc.is_object())
    throw BadRequest("The request body must be a JSON object.", "", "invalid_json");
  return doc;
}

}  // namespace bitjit::server
