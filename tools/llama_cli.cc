#include "tools/llama_cli.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "ir/base/error.h"

namespace bitjit::cli {
namespace {

// Reads both pipes until both close. Polling both (rather than reading one to the end) keeps
// a child that fills the other pipe's buffer from blocking forever.
void Drain(int out_fd, int err_fd, std::string* out, std::string* err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {out, err};
  char buffer[1 << 16];
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      Fail("poll failed: ", std::strerror(errno));
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;  // poll ignores negative fds
        --open_fds;
      }
    }
  }
}

}  // namespace

ProgramOutput RunProgram(const std::vector<std::string>& argv) {
  if (argv.empty()) Fail("no program to run");
  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    Fail("cannot create a pipe: ", std::strerror(errno));
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) Fail("cannot fork: ", std::strerror(errno));
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], null_fd}) ::close(fd);
    ::execv(args[0], args.data());
    // Tell the parent why exec failed through the close-on-exec pipe.
    const int code = errno;
    (void)!::write(exec_pipe[1], &code, sizeof code);
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(exec_pipe[1]);
  int exec_errno = 0;
  const bool exec_failed = ::read(exec_pipe[0], &exec_errno, sizeof exec_errno) > 0;
  ::close(exec_pipe[0]);
  ProgramOutput result;
  Drain(out_pipe[0], err_pipe[0], &result.out, &result.err);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (exec_failed) Fail("cannot run ", argv[0], ": ", std::strerror(exec_errno));
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string EscapeBytes(std::string_view bytes) {
  std::string out;
  for (unsigned char ch : bytes) {
    if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\\') {
      out += "\\\\";
    } else if (ch >= 0x20 && ch < 0x7f) {
      out += static_cast<char>(ch);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", ch);
      out += hex;
    }
  }
  return out;
}

TextComparison CompareCliText(std::string_view printed, std::string_view echo,
                              std::string_view ours) {
  TextComparison r;
  // A few bytes either side of a difference are enough to see what it is.
  constexpr size_t kContext = 24;
  auto excerpt = [](std::string_view s, size_t at) {
    const size_t from = at > kContext ? at - kContext : 0;
    // Appended piece by piece: GCC 12 warns (falsely, -Wrestrict) on "literal" + string.
    std::string out = "\"";
    out += EscapeBytes(s.substr(from, at - from));
    out += '|';
    out += EscapeBytes(s.substr(at, kContext));
    out += '"';
    return out;
  };
  if (printed.substr(0, echo.size()) != echo) {
    r.prompt_differs = true;
    const size_t at =
        static_cast<size_t>(std::mismatch(echo.begin(), echo.end(), printed.begin(),
                                          printed.begin() + std::min(echo.size(), printed.size()))
                                .first -
                            echo.begin());
    r.detail = "llama-cli's output does not start with the prompt: byte " + std::to_string(at) +
               " differs (expected " + excerpt(echo, at) + ", got " + excerpt(printed, at) + ")";
    return r;
  }
  std::string_view theirs = printed.substr(echo.size());
  // llama-cli ends its output with "\n\n" after the last token.
  if (theirs.size() >= 2 && theirs.substr(theirs.size() - 2) == "\n\n") {
    theirs.remove_suffix(2);
  }
  const size_t n = std::min(theirs.size(), ours.size());
  const size_t at = static_cast<size_t>(
      std::mismatch(ours.begin(), ours.begin() + n, theirs.begin()).first - ours.begin());
  if (at == n && theirs.size() == ours.size()) {
    r.matches = true;
    return r;
  }
  r.first_diff = static_cast<int64_t>(at);
  r.detail = "generated text diverges at byte " + std::to_string(at) + " of " +
             std::to_string(ours.size()) + " (bitjit " + excerpt(ours, at) + ", llama-cli " +
             excerpt(theirs, at) + ")";
  return r;
}

}  // namespace bitjit::cli
