// Test helper: runs the real `bitjit serve` (BITJIT_CLI) on a free loopback port (--port 0; the
// port is read from the line the server prints once it listens) and stops it with SIGTERM.
// Header-only: tests/CMakeLists.txt compiles tests/*_test.cc and tests/testing/*.cc only.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/cli.h"

namespace bitjit::testing {

class ServerProcess {
 public:
  // Starts `bitjit serve ARGS --port 0` and waits (up to `deadline`) until it listens; on
  // failure port() is 0 and Log() says why.
  explicit ServerProcess(std::vector<std::string> args,
                         std::chrono::seconds deadline = std::chrono::seconds(60)) {
    args.insert(args.begin(), "serve");
    args.insert(args.end(), {"--port", "0"});
    Start(BITJIT_CLI, std::move(args), deadline);
  }

  // Runs `binary args...` as given (a llama-server link with its own flags, --port 0 among
  // them), waiting for the same "listening on" line.
  ServerProcess(std::string binary, std::vector<std::string> args, std::chrono::seconds deadline) {
    Start(std::move(binary), std::move(args), deadline);
  }

 private:
  void Start(std::string binary, std::vector<std::string> args, std::chrono::seconds deadline) {
    log_path_ = dir_.File("stderr");
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      const int err = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out[1], 1);
      dup2(err, 2);
      std::vector<char*> argv;
      argv.push_back(binary.data());
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    stdout_fd_ = out[0];
    // A descriptor that becomes readable when the child exits: its exit can be awaited with a
    // deadline. (Through syscall: glibc 2.36's <sys/pidfd.h> lacks extern "C".)
    if (pid_ > 0) pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    ReadPort(deadline);
  }

 public:
  ~ServerProcess() {
    if (pid_ > 0 && !reaped_) Terminate(std::chrono::seconds(20));
    if (stdout_fd_ >= 0) close(stdout_fd_);
    if (pidfd_ >= 0) close(pidfd_);
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }

  // Sends SIGTERM and waits for the exit. Returns the exit code; -1 for death by a signal, -2
  // when it did not exit within `deadline` (it is then killed).
  int Terminate(std::chrono::seconds deadline) {
    if (reaped_) return exit_code_;
    kill(pid_, SIGTERM);
    pollfd p{pidfd_, POLLIN, 0};
    const bool exited = pidfd_ >= 0 && poll(&p, 1, static_cast<int>(deadline.count() * 1000)) == 1;
    if (!exited) kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    exit_code_ = !exited ? -2 : WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_code_;
  }

  // What the server wrote to stderr so far (its request log).
  std::string Log() const {
    std::ifstream in(log_path_);
    std::ostringstream os;
    os << in.rdbuf();
    return os.str();
  }

  // The log once `done(log)` holds, or as it is at `deadline`. The server writes a request's
  // log line after its reply has gone out, so a client can see the reply before the line.
  template <typename Done>
  std::string LogWhen(Done done, std::chrono::seconds deadline = std::chrono::seconds(10)) const {
    const auto end = std::chrono::steady_clock::now() + deadline;
    std::string log = Log();
    while (!done(log) && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      log = Log();
    }
    return log;
  }

 private:
  // The server prints "bitjit serve: listening on http://HOST:PORT (...)" once bound.
  void ReadPort(std::chrono::seconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    std::string out;
    while (out.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      pollfd p{stdout_fd_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) != 1) return;
      char buf[256];
      const ssize_t n = read(stdout_fd_, buf, sizeof(buf));
      if (n <= 0) return;  // it exited
      out.append(buf, static_cast<size_t>(n));
    }
    const std::string marker = "listening on http://";
    const size_t at = out.find(marker);
    if (at == std::string::npos) return;
    const size_t colon = out.find(':', at + marker.size());
    if (colon != std::string::npos) port_ = std::atoi(out.c_str() + colon + 1);
  }

  TempDir dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  int pidfd_ = -1, stdout_fd_ = -1;
  int port_ = 0;
  bool reaped_ = false;
  int exit_code_ = -2;
};

}  // namespace bitjit::testing
