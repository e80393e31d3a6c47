// The HTTP side of `bitjit serve` (cpp-httplib): the OpenAI routes and llama-server's own
// (/completion, /tokenize, /props, /slots, /metrics, ...), API keys, the OpenAI error shape for
// every failure (bad JSON, unknown route, body too large, ...), and a log line per request.
// httplib.h stays inside the .cc files, so that users of this header need none of its flags.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "tools/server/completion_request.h"

namespace bitjit {
class Model;
}

namespace bitjit::server {

class Scheduler;

struct HttpServerOptions {
  std::string model_id;    // the served model's name in /v1/models and in replies (--alias)
  std::string model_path;  // GET /props
  size_t max_body_bytes = size_t{1} << 20;  // larger bodies get 413
  // Connections open at once, each on a thread of its own (a stream holds its connection); more
  // are refused with 503 at once.
  size_t max_connections = 512;
  // A client must send each request, headers and body, within this long of its first byte.
  std::chrono::milliseconds request_read_timeout{10000};
  // A client must take each write of a reply within this long (a stream reader that stops
  // reading is disconnected after it); llama-server's --timeout.
  std::chrono::milliseconds write_timeout{600000};
  bool log_requests = true;
  RequestDefaults defaults;  // for requests that do not set these fields
  // Host names requests may be addressed to besides localhost and IP addresses (DNS rebinding).
  std::vector<std::string> allowed_hosts;
  // Origins granted CORS (exactly as browsers send them, "https://app.example"); none by default.
  std::vector<std::string> cors_origins;
  // With keys, every route but /health (and the page at /, and CORS preflights) needs
  // `Authorization: Bearer KEY` (tools/server/api_key.h).
  std::vector<std::string> api_keys;
  bool metrics = false;  // GET /metrics (Prometheus); 404 without
};

class HttpServer {
 public:
  // `model` and `scheduler` must outlive the server.
  HttpServer(const Model& model, Scheduler& scheduler, const HttpServerOptions& options);
  ~HttpServer();

  // Binds host:port (port 0: any free port); returns the port. Throws bitjit::Error.
  int Bind(const std::string& host, int port);
  // Serves until Stop(); call from a thread of its own.
  void Listen();
  // Closes the listening socket; Listen() returns once the connection threads are done.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bitjit::server
