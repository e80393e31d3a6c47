// Why a generation ended. kStop and kLength are the API's finish_reason values; the others end
// a request without a normal reply.
#pragma once

namespace bitjit::server {

enum class FinishReason {
  kStop,      // end-of-generation token, or a stop string
  kLength,    // max_tokens reached
  kShutdown,  // the server is stopping
  kError,     // the forward pass failed
};

// "stop" or "length" (the others never reach a client as a finish_reason).
inline const char* ApiName(FinishReason r) {
  return r == FinishReason::kLength ? "length" : "stop";
}

}  // namespace bitjit::server
