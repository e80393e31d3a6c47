#include "tools/server/connection_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <glog/logging.h>

#include <charconv>
#include <filesystem>

namespace bitjit::server {
namespace {

// The port and numeric host of a socket address (IPv4 or IPv6).
bool PortAndHost(const sockaddr_storage& a, int* port, std::string* host) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(a);
    *port = ntohs(in.sin_port);
    if (host) *host = inet_ntop(AF_INET, &in.sin_addr, buf, sizeof(buf)) ? buf : "";
    return true;
  }
  if (a.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
    *port = ntohs(in6.sin6_port);
    if (host) *host = inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof(buf)) ? buf : "";
    return true;
  }
  return false;
}

bool Matches(int fd, int local_port, const std::string& remote_addr, int remote_port) {
  sockaddr_storage local{}, peer{};
  socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
      getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
    return false;  // not a connected socket
  }
  int port = 0, peer_port = 0;
  std::string peer_host;
  return PortAndHost(local, &port, nullptr) && port == local_port &&
         PortAndHost(peer, &peer_port, &peer_host) && peer_port == remote_port &&
         peer_host == remote_addr;
}

}  // namespace

ConnectionProbe::ConnectionProbe(int local_port, const std::string& remote_addr, int remote_port) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const std::string name = entry.path().filename().string();
    int fd = -1;
    if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc()) continue;
    if (Matches(fd, local_port, remote_addr, remote_port)) {
      fd_ = fd;
      return;
    }
  }
  LOG(WARNING) << "cannot find the socket of the connection from " << remote_addr << ":"
               << remote_port << " to port " << local_port
               << ": a client that leaves is noticed only when a write fails";
}

bool ConnectionProbe::PeerClosed() const {
  if (fd_ < 0) return false;
  pollfd p{fd_, POLLIN | POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

}  // namespace bitjit::server
