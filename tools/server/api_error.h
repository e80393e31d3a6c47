// The OpenAI API's error reply, {"error": {"message", "type", "param", "code"}}, with the HTTP
// status that goes with it. Request handling throws ApiError and the HTTP layer turns it into a
// response, so that a bad request ends that request only and the server keeps serving.
#pragma once

#include <nlohmann/json.hpp>

#include <exception>
#include <string>

namespace bitjit::server {

struct ApiError : std::exception {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // empty: null
  std::string code;   // empty: null

  const char* what() const noexcept override { return message.c_str(); }
  nlohmann::json ToJson() const;
};

// 400 invalid_request_error about `param` (empty when the request as a whole is wrong).
ApiError BadRequest(std::string message, std::string param = "", std::string code = "");
// 503 when every slot is busy and the waiting queue is full, or the server is stopping.
ApiError Overloaded(std::string message);

}  // namespace bitjit::server
