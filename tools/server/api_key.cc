#include "tools/server/api_key.h"

#include <fstream>

#include "ir/base/error.h"

namespace bitjit::server {
namespace {

// Equal contents, in a time that depends on the lengths only.
bool ConstantTimeEqual(std::string_view given, std::string_view key) {
  unsigned diff = given.size() == key.size() ? 0 : 1;
  for (size_t i = 0; i < key.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= g ^ static_cast<unsigned char>(key[i]);
  }
  return diff == 0;
}

std::string_view Trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

}  // namespace

bool ApiKeys::Accepts(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) != kBearer) return false;
  const std::string_view given = Trim(authorization.substr(kBearer.size()));
  bool ok = false;
  for (const std::string& key : keys_) ok |= ConstantTimeEqual(given, key);  // no early exit
  return ok;
}

bool IsPublicRoute(std::string_view method, std::string_view path) {
  if (method == "OPTIONS") return true;
  return (method == "GET" || method == "HEAD") &&
         (path == "/health" || path == "/v1/health" || path == "/" || path == "/chat.js" ||
          path == "/chat.css");  // the chat page asks for the key itself
}

std::vector<std::string> ReadApiKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) Fail("cannot read --api-key-file ", path);
  std::vector<std::string> keys;
  for (std::string line; std::getline(in, line);) {
    const std::string_view key = Trim(line);
    if (!key.empty()) keys.emplace_back(key);
  }
  if (keys.empty()) Fail("--api-key-file ", path, " holds no key (one key a line)");
  return keys;
}

ApiError Unauthorized(bool key_given) {
  ApiError e;
  e.status = 401;
  e.message = key_given ? "Incorrect API key provided."
                        : "This server needs an API key: send it as 'Authorization: Bearer KEY'.";
  e.type = "authentication_error";
  e.code = "invalid_api_key";
  return e;
}

}  // namespace bitjit::server
