// UTF-8 well-formedness (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
#pragma once

#include <string_view>

namespace bitjit {

bool IsValidUtf8(std::string_view s);

}  // namespace bitjit
