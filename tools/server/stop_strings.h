// Stop strings (the API's `stop`): generated text is cut where the first of them begins, and
// the end of the text that could still grow into one is held back until the next token shows
// whether it does. So no byte of a stop string ever reaches the client, streamed or not.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bitjit::server {

class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stops);

  // Appends generated text; returns the part that may be released now. Once a stop string has
  // appeared, stopped() is true and the text from its start on is dropped.
  std::string Push(std::string_view text);
  // At the end of generation: the held-back text (it never became a stop string).
  std::string Flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace bitjit::server
