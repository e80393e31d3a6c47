#include "tools/server/reply_text.h"

#include "frontend/tokenizer/tokenizer.h"
#include "frontend/tokenizer/utf8_chars.h"

namespace bitjit::server {

std::string ValidUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t pos = 0; pos < bytes.size();) {
    const size_t start = pos;
    if (tokenizer::DecodeUtf8(bytes, &pos) < 0) {
      out.append("\xEF\xBF\xBD");  // U+FFFD
    } else {
      out.append(bytes.substr(start, pos - start));
    }
  }
  return out;
}

ReplyText::ReplyText(const Tokenizer& tokenizer, std::vector<std::string> stop, int max_tokens,
                     bool ignore_eos)
    : tokenizer_(tokenizer),
      decoder_(tokenizer),
      stops_(std::move(stop)),
      max_tokens_(max_tokens),
      ignore_eos_(ignore_eos) {}

std::string ReplyText::Add(int32_t id) {
  ++n_tokens_;
  std::string out;
  if (!ignore_eos_ && tokenizer_.IsEndOfGeneration(id)) {
    finish_ = FinishReason::kStop;
  } else {
    out = stops_.Push(ValidUtf8(decoder_.Push(id)));
    if (stops_.stopped()) {
      finish_ = FinishReason::kStopString;
      return out;
    }
    if (n_tokens_ >= max_tokens_) finish_ = FinishReason::kLength;
  }
  if (finished()) {
    // A character left unfinished at the end is released (replaced); it may still complete a
    // stop string.
    out += stops_.Push(ValidUtf8(decoder_.Flush()));
    if (stops_.stopped()) {
      finish_ = FinishReason::kStopString;
    } else {
      out += stops_.Flush();
    }
  }
  return out;
}

}  // namespace bitjit::server
