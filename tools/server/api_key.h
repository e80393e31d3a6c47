// --api-key / --api-key-file: with keys set, every request but the public ones (GET /health,
// GET /v1/health, GET / — the chat page —, and CORS preflights) must carry
// `Authorization: Bearer KEY` with one of them, or gets 401 in OpenAI's error shape. Keys are
// compared in constant time (no early exit on the first differing byte, every key tried) and
// never logged.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tools/server/api_error.h"

namespace bitjit::server {

class ApiKeys {
 public:
  ApiKeys() = default;
  explicit ApiKeys(std::vector<std::string> keys) : keys_(std::move(keys)) {}

  bool enabled() const { return !keys_.empty(); }
  // True when `authorization` (the header's value) is "Bearer K" for a key K.
  bool Accepts(std::string_view authorization) const;

 private:
  std::vector<std::string> keys_;
};

// Requests that need no key (the method and the path as httplib parsed them).
bool IsPublicRoute(std::string_view method, std::string_view path);

// The keys of a key file: one a line; blank lines and surrounding spaces ignored. Throws
// bitjit::Error naming the file when it cannot be read or holds no key.
std::vector<std::string> ReadApiKeyFile(const std::string& path);

// 401, type authentication_error, code invalid_api_key.
ApiError Unauthorized(bool key_given);

}  // namespace bitjit::server
