#include "tools/server/deadline_stream.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace bitjit::server {
namespace {

int MillisecondsUntil(DeadlineSocketStream::Clock::time_point until) {
  if (until == DeadlineSocketStream::Clock::time_point::max()) return -1;
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(until - DeadlineSocketStream::Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1 << 30));
}

void IpAndPort(const sockaddr_storage& addr, socklen_t len, std::string& ip, int& port) {
  char host[NI_MAXHOST], service[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof(host), service,
                  sizeof(service), NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(service);
  }
}

}  // namespace

DeadlineSocketStream::DeadlineSocketStream(int sock, int stop_fd,
                                           std::chrono::milliseconds write_timeout)
    : sock_(sock), stop_fd_(stop_fd), write_timeout_(write_timeout) {}

bool DeadlineSocketStream::WaitFor(short events, Clock::time_point until, bool stoppable) const {
  for (;;) {
    pollfd fds[2] = {{sock_, events, 0}, {stop_fd_, POLLIN, 0}};
    const int n = ::poll(fds, stoppable ? 2 : 1, MillisecondsUntil(until));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (stoppable && fds[1].revents != 0) return false;
    // POLLHUP and POLLERR count as ready: the read or write then reports the end.
    return fds[0].revents != 0;
  }
}

bool DeadlineSocketStream::WaitForRequest(std::chrono::milliseconds idle) {
  if (buffered_begin_ < buffered_end_) return true;  // a pipelined request is already here
  return WaitFor(POLLIN, Clock::now() + idle, /*stoppable=*/true);
}

bool DeadlineSocketStream::is_readable() const {
  return buffered_begin_ < buffered_end_ || WaitFor(POLLIN, read_deadline_, /*stoppable=*/true);
}

bool DeadlineSocketStream::is_writable() const {
  return WaitFor(POLLOUT, Clock::now() + write_timeout_, /*stoppable=*/false);
}

ssize_t DeadlineSocketStream::read(char* ptr, size_t size) {
  if (buffered_begin_ == buffered_end_) {
    if (!WaitFor(POLLIN, read_deadline_, /*stoppable=*/true)) {
      read_cut_off_ = true;
      return -1;
    }
    ssize_t n;
    do {
      n = ::recv(sock_, buffer_, sizeof(buffer_), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return n;
    buffered_begin_ = 0;
    buffered_end_ = static_cast<size_t>(n);
  }
  const size_t n = std::min(size, buffered_end_ - buffered_begin_);
  std::memcpy(ptr, buffer_ + buffered_begin_, n);
  buffered_begin_ += n;
  return static_cast<ssize_t>(n);
}

// Writes are not cut short when the server stops: a stream's last event says why it ended.
ssize_t DeadlineSocketStream::write(const char* ptr, size_t size) {
  if (!WaitFor(POLLOUT, Clock::now() + write_timeout_, /*stoppable=*/false)) return -1;
  ssize_t n;
  do {
    n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

void DeadlineSocketStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    IpAndPort(addr, len, ip, port);
  }
}

void DeadlineSocketStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    IpAndPort(addr, len, ip, port);
  }
}

}  // namespace bitjit::server
