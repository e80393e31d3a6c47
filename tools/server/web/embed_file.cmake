# Turns one file into a C++ source defining `std::string_view FUNCTION()` over its bytes, so
# that `bitjit serve` carries its web page in the binary. Run by tools/server/CMakeLists.txt:
#   cmake -DINPUT=chat.html -DOUTPUT=chat.html.cc -DFUNCTION=ChatHtml -P embed_file.cmake
# A byte array, not a string literal: the file may hold any bytes, and no literal length limit
# or escaping applies.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REPEAT "0x..," 16 line_of_bytes)  # (CMake regexes have no {16})
string(REGEX REPLACE "(${line_of_bytes})" "\\1\n    " bytes "${bytes}")
get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}" "// Generated from tools/server/web/${name} by embed_file.cmake: edit that file instead.
#include <cstddef>
#include <string_view>

namespace bitjit::server::web {
namespace {
// The file's ${size} bytes and a terminating zero (an array is never empty).
const unsigned char kBytes[] = {
    ${bytes}0x00};
}  // namespace

std::string_view ${FUNCTION}() {
  return {reinterpret_cast<const char*>(kBytes), ${size}};
}

}  // namespace bitjit::server::web
")
