// Text that must be valid UTF-8 (JSON strings): the server's replies.
#pragma once

#include <string>
#include <string_view>

namespace bitjit {

// `bytes` with every byte that does not belong to a well-formed UTF-8 character replaced by
// U+FFFD. Byte by byte, so that cutting the input between characters never changes the result.
std::string ValidUtf8(std::string_view bytes);

}  // namespace bitjit
