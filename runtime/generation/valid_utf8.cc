#include "runtime/generation/valid_utf8.h"

#include "frontend/tokenizer/utf8_chars.h"

namespace bitjit {

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

}  // namespace bitjit
