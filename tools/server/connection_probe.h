// Whether the client of a request is still connected. cpp-httplib 0.11 gives handlers no access
// to the connection's socket and notices a closed connection only when a write fails, which a
// handler that waits for a queued request, or builds a reply that is not streamed, never does.
// So the probe finds the socket once, by the request's two addresses, among the process's file
// descriptors, and then asks the kernel whether the peer has hung up (POLLRDHUP), at no cost to
// the connection.
#pragma once

#include <string>

namespace bitjit::server {

class ConnectionProbe {
 public:
  // The addresses as cpp-httplib reports them in Request (local_port, remote_addr/_port).
  ConnectionProbe(int local_port, const std::string& remote_addr, int remote_port);

  // True once the client has closed its end. False when the socket was not found.
  bool PeerClosed() const;
  bool found() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace bitjit::server
