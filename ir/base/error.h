// Errors that reach the user. bitjit reports bad input (a damaged file, a bad flag, a prompt
// that does not fit) by throwing bitjit::Error; the CLI prints it as one line "error: ..." and
// exits 2. Programming errors are CHECKed with glog instead.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace bitjit {

class Error : public std::runtime_error {
 public:
  explicit Error(std::string message) : std::runtime_error(std::move(message)) {}
};

// Builds a message from any streamable parts: Fail("tensor ", name, " is missing").
template <typename... Parts>
[[noreturn]] void Fail(const Parts&... parts);

}  // namespace bitjit

#include <sstream>

namespace bitjit {
template <typename... Parts>
[[noreturn]] void Fail(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(os.str());
}
}  // namespace bitjit
