#include "frontend/tokenizer/streaming_decoder.h"

#include "frontend/tokenizer/tokenizer.h"
#include "frontend/tokenizer/utf8_chars.h"

namespace bitjit {

std::string StreamingDecoder::Push(int32_t id) {
  pending_.append(tokenizer_.TokenBytesView(id));
  const size_t complete = tokenizer::CompleteUtf8Prefix(pending_);
  std::string out = pending_.substr(0, complete);
  pending_.erase(0, complete);
  return out;
}

std::string StreamingDecoder::Flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace bitjit
