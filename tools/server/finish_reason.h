// Why a generation ended. kStop, kStopString and kLength are normal ends (finish_reason "stop",
// "stop" and "length"; llama-server's stop_type "eos", "word" and "limit"); the others end a
// request without a normal reply.
#pragma once

namespace bitjit::server {

enum class FinishReason {
  kStop,        // end-of-generation token
  kStopString,  // a stop string
  kLength,      // max_tokens reached
  kShutdown,    // the server is stopping
  kError,       // the forward pass failed
};

// "stop" or "length" (the others never reach a client as a finish_reason).
inline const char* ApiName(FinishReason r) {
  return r == FinishReason::kLength ? "length" : "stop";
}

inline bool NormalEnd(FinishReason r) {
  return r == FinishReason::kStop || r == FinishReason::kStopString || r == FinishReason::kLength;
}

}  // namespace bitjit::server
