#include "tools/server/api_error.h"

namespace bitjit::server {
namespace {
nlohmann::json OrNull(const std::string& s) {
  return s.empty() ? nlohmann::json() : nlohmann::json(s);
}
}  // namespace

nlohmann::json ApiError::ToJson() const {
  return {
      {"error",
       {{"message", message}, {"type", type}, {"param", OrNull(param)}, {"code", OrNull(code)}}}};
}

ApiError BadRequest(std::string message, std::string param, std::string code) {
  ApiError e;
  e.status = 400;
  e.message = std::move(message);
  e.param = std::move(param);
  e.code = std::move(code);
  return e;
}

ApiError Overloaded(std::string message) {
  ApiError e;
  e.status = 503;
  e.message = std::move(message);
  e.type = "server_error";
  e.code = "server_overloaded";
  return e;
}

}  // namespace bitjit::server
