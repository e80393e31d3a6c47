// A request body parsed as a JSON object, with the checks every JSON route makes first: the
// nesting depth (measured before parsing: a deep value would overflow the stack once it
// exists), valid JSON, and an object at the top. Each failure is a 400 ApiError, code
// invalid_json.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

namespace bitjit::server {

nlohmann::json ParseJsonObject(std::string_view body);

}  // namespace bitjit::server
