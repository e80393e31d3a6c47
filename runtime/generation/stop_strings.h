// Stop strings, in the two ways generation knows them.
//
// The HTTP API's `stop`: generated text is cut where the first of them begins, and the end of
// the text that could still grow into one is held back until the next token shows whether it
// does. So no byte of a stop string ever reaches the client, streamed or not.
//
// llama-cli's -r (reverse prompts): text is released as it comes, and the reply ends with the
// token that completes one of them, its text printed (StopArrived).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bitjit {

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

// True when one of `stops` occurs in `text` and ends in its last `new_bytes` bytes (a token's
// piece may hold a stop string in its middle, so "ends with" would miss it).
bool StopArrived(std::string_view text, size_t new_bytes, const std::vector<std::string>& stops);

}  // namespace bitjit
