// llama.cpp's -e/--escape (on by default in llama-cli): a prompt given on the command line may
// spell a newline as \n. Shells pass the backslash through, so the program turns it into bytes.
#pragma once

#include <string>
#include <string_view>

namespace bitjit::cli {

// Replaces \n \r \t \' \" \\ and \xHH (one or two hex digits) with the bytes they name; any
// other backslash is kept as written.
std::string ProcessEscapes(std::string_view text);

}  // namespace bitjit::cli
