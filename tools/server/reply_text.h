// One request's reply as its tokens arrive: each token's bytes decoded without ever splitting a
// character, bytes that are not UTF-8 replaced by U+FFFD (JSON strings must be valid UTF-8),
// stop strings cut out, and the decision when the reply is over (end-of-generation token, stop
// string, or max_tokens). The scheduler feeds it one sampled token per step.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/tokenizer/streaming_decoder.h"
#include "tools/server/finish_reason.h"
#include "tools/server/stop_strings.h"

namespace bitjit {
class Tokenizer;
}

namespace bitjit::server {

class ReplyText {
 public:
  // `tokenizer` must outlive this. With `ignore_eos`, only stop strings and max_tokens end it.
  ReplyText(const Tokenizer& tokenizer, std::vector<std::string> stop, int max_tokens,
            bool ignore_eos);

  // Takes the next sampled token (counted in n_tokens()); returns the text released by it.
  // Must not be called once finished().
  std::string Add(int32_t id);

  bool finished() const { return finish_.has_value(); }
  FinishReason finish_reason() const { return *finish_; }
  int n_tokens() const { return n_tokens_; }

 private:
  const Tokenizer& tokenizer_;
  StreamingDecoder decoder_;
  StopStringFilter stops_;
  int max_tokens_;
  bool ignore_eos_;
  int n_tokens_ = 0;
  std::optional<FinishReason> finish_;
};

// `bytes` with every byte that does not belong to a well-formed UTF-8 character replaced by
// U+FFFD. Byte by byte, so that cutting the input between characters never changes the result.
std::string ValidUtf8(std::string_view bytes);

}  // namespace bitjit::server
