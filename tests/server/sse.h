// Test helper: the data payloads of a text/event-stream body ("data: X\n\n" events), in order.
#pragma once

#include <string>
#include <vector>

namespace bitjit::testing {

inline std::vector<std::string> SseData(const std::string& body) {
  std::vector<std::string> data;
  size_t pos = 0;
  for (size_t end; (end = body.find("\n\n", pos)) != std::string::npos; pos = end + 2) {
    const std::string event = body.substr(pos, end - pos);
    if (event.rfind("data: ", 0) == 0) data.push_back(event.substr(6));
  }
  return data;
}

}  // namespace bitjit::testing
