// The socket stream bitjit serve hands to httplib in place of httplib's own. httplib's stream
// times out each recv on its own (5 s), so a client that sends one header byte every 3 s holds
// its connection forever, and shutdown waits for it. This one reads a request, headers and body,
// against one deadline for the whole request, and every wait also ends when the server stops.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <string>

namespace bitjit::server {

class DeadlineSocketStream final : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;

  // `stop_fd` becomes readable when the server stops (an eventfd); it ends every read and wait.
  DeadlineSocketStream(int sock, int stop_fd, std::chrono::milliseconds write_timeout);

  // Waits up to `idle` for the first byte of the next request; false when none came or the
  // server stops.
  bool WaitForRequest(std::chrono::milliseconds idle);
  // Every read from now on fails once `deadline` has passed.
  void SetReadDeadline(Clock::time_point deadline) {
    read_deadline_ = deadline;
    read_cut_off_ = false;
  }
  // Whether a read failed since SetReadDeadline because the deadline passed or the server stops:
  // the request is then incomplete and the connection must end.
  bool read_cut_off() const { return read_cut_off_; }

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return sock_; }

 private:
  // Polls the socket for `events` until `until`; false on timeout, error, or (when
  // `stoppable`) the server stopping.
  bool WaitFor(short events, Clock::time_point until, bool stoppable) const;

  int sock_;
  int stop_fd_;
  std::chrono::milliseconds write_timeout_;
  Clock::time_point read_deadline_ = Clock::time_point::max();
  bool read_cut_off_ = false;
  // httplib reads request lines one byte at a time: bytes are taken from the socket in blocks.
  char buffer_[4096];
  size_t buffered_begin_ = 0, buffered_end_ = 0;
};

}  // namespace bitjit::server
