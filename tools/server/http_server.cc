#include "tools/server/http_server.h"

#include <httplib.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>

#include "ir/base/error.h"
#include "runtime/model.h"
#include "tools/server/api_error.h"
#include "tools/server/api_key.h"
#include "tools/server/completion_handler.h"
#include "tools/server/connection_threads.h"
#include "tools/server/deadline_stream.h"
#include "tools/server/llama_routes.h"
#include "tools/server/metrics.h"
#include "tools/server/openai_format.h"
#include "tools/server/request_body.h"
#include "tools/server/request_log.h"
#include "tools/server/request_origin.h"
#include "tools/server/scheduler.h"
#include "tools/server/web_page.h"

namespace bitjit::server {
namespace {

using nlohmann::json;

void SendError(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(JsonText(e.ToJson()), "application/json");
}

ApiError Internal(const std::string& message) {
  ApiError e;
  e.status = 500;
  e.message = message;
  e.type = "server_error";
  e.code = "internal_error";
  return e;
}

// The error for a status httplib set itself (no route, body too large, unparsable request).
ApiError ErrorForStatus(const httplib::Request& req, int status) {
  ApiError e;
  e.status = status;
  if (status == 404) {
    e.message = "Unknown request URL: " + req.method + " " + req.path + ".";
    e.code = "unknown_url";
  } else if (status == 413) {
    e = BodyTooLarge();
  } else {
    e.message = "The request could not be handled (HTTP " + std::to_string(status) + ").";
  }
  return e;
}

// The routes that take a JSON body (POST), with the API each completion route speaks: OpenAI's
// and llama-server's names for them (llama-server accepts /completions and /chat/completions
// without the /v1 too).
const std::vector<std::pair<const char*, Endpoint>>& CompletionRoutes() {
  static const std::vector<std::pair<const char*, Endpoint>> routes = {
      {"/v1/chat/completions", Endpoint::kChat},
      {"/chat/completions", Endpoint::kChat},
      {"/v1/completions", Endpoint::kCompletion},
      {"/completions", Endpoint::kCompletion},
      {"/completion", Endpoint::kLlama}};
  return routes;
}
constexpr const char* kTokenRoutes[] = {"/tokenize", "/detokenize"};

bool IsCompletionRoute(const httplib::Request& req) {
  if (req.method != "POST") return false;
  for (const auto& [path, endpoint] : CompletionRoutes()) {
    if (req.path == path) return true;
  }
  return std::find(std::begin(kTokenRoutes), std::end(kTokenRoutes), req.path) !=
         std::end(kTokenRoutes);
}

bool HasBody(const httplib::Request& req) {
  return req.get_header_value<uint64_t>("Content-Length") > 0 ||
         req.has_header("Transfer-Encoding");
}

// The refusal of a request whose body must not be read at all: httplib would read any body that
// no content-reader route takes whole into memory (a chunked one without limit), and would read
// and discard a Content-Length of any size before answering 413.
std::optional<ApiError> RefusalBeforeBody(const httplib::Request& req, size_t max_body_bytes) {
  if (!HasBody(req)) return std::nullopt;
  if (!IsCompletionRoute(req)) return ErrorForStatus(req, 404);
  if (req.get_header_value<uint64_t>("Content-Length") > max_body_bytes) return BodyTooLarge();
  return std::nullopt;
}

ApiError Refusal(int status, std::string message, std::string code) {
  ApiError e;
  e.status = status;
  e.message = std::move(message);
  e.code = std::move(code);
  return e;
}

// The refusal of a request from a client that may not make it (tools/server/request_origin.h).
std::optional<ApiError> RefusalOfClient(const httplib::Request& req,
                                        const HttpServerOptions& options) {
  if (!HostAllowed(req.get_header_value("Host"), options.allowed_hosts)) {
    return Refusal(403,
                   "The Host header does not name this server (start it with --allowed-hosts "
                   "NAME to serve a name).",
                   "host_not_allowed");
  }
  if (IsCompletionRoute(req) && !IsJsonContentType(req.get_header_value("Content-Type"))) {
    return Refusal(415, "The request body must be sent as Content-Type: application/json.",
                   "unsupported_media_type");
  }
  return std::nullopt;
}

// CORS, granted only to the origins named with --cors: the headers go on every reply to such an
// origin, refusals and errors included (a page can only read a reply that carries them, so
// without them it cannot tell a 401 from a network failure). True when the origin is granted.
bool GrantCors(const httplib::Request& req, httplib::Response& res,
               const std::vector<std::string>& origins) {
  const std::string origin = req.get_header_value("Origin");
  if (origin.empty() || std::find(origins.begin(), origins.end(), origin) == origins.end()) {
    return false;
  }
  res.set_header("Access-Control-Allow-Origin", origin);
  res.set_header("Vary", "Origin");
  return true;
}

// The answer to a granted origin's preflight.
void AnswerPreflight(httplib::Response& res) {
  res.status = 204;
  res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  res.set_header("Access-Control-Allow-Headers", "Content-Type, Authorization");
  res.set_header("Access-Control-Max-Age", "600");
}

// Set by a handler that refused a request without reading its body: the connection ends after
// the reply, or the unread body would be taken for the next request. (httplib decides to keep a
// connection open before routing; the connection loop below reads this after each request.)
thread_local bool close_after_reply = false;

// The reply to a connection over the cap, sent without waiting (the accepting thread sends it).
void RefuseConnection(int sock) {
  const std::string body =
      JsonText(Overloaded("Too many connections are open to this server. Retry later.").ToJson());
  const std::string reply =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
      "Connection: close\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  ::send(sock, reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
}

// Ends a connection whose client may still be sending a body that was refused unread. Closing
// with unread bytes makes the kernel send a reset, and a client still writing its body then gets
// EPIPE or ECONNRESET instead of the reply; so, as web servers do, the reply is followed by a
// FIN and what the client still sends is read and dropped for a bounded time and amount.
void LingeringClose(int sock, int stop_fd) {
  constexpr auto kLinger = std::chrono::seconds(2);
  constexpr size_t kMaxDrained = size_t{64} << 20;
  ::shutdown(sock, SHUT_WR);
  const auto end = std::chrono::steady_clock::now() + kLinger;
  char buf[16384];
  for (size_t drained = 0; drained < kMaxDrained;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    pollfd fds[2] = {{sock, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    if (left.count() <= 0 || ::poll(fds, 2, static_cast<int>(left.count())) <= 0 ||
        fds[1].revents != 0) {
      break;
    }
    const ssize_t n = ::recv(sock, buf, sizeof(buf), 0);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
}

// httplib's Server with bitjit's connection loop: each request's headers and body must arrive
// within one deadline (DeadlineSocketStream), every wait ends when the server stops, and
// connections over the cap are refused (ConnectionThreads).
class ConnectionServer : public httplib::Server {
 public:
  ConnectionServer() : stop_fd_(::eventfd(0, EFD_CLOEXEC)) {}
  ~ConnectionServer() override {
    if (stop_fd_ >= 0) ::close(stop_fd_);
  }

  void set_request_read_timeout(std::chrono::milliseconds t) { request_read_timeout_ = t; }
  // cpp-httplib 0.11 listens with a backlog of 5: a burst of new clients overflows it and the
  // kernel drops their SYNs, which clients resend only after a second. Calling listen() again on
  // the bound socket (its descriptor is a protected member) widens the backlog.
  bool WidenBacklog() { return stop_fd_ >= 0 && ::listen(svr_sock_, SOMAXCONN) == 0; }
  // Ends every wait for a request and every request still being read, now and from now on.
  void StopReading() {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(stop_fd_, &one, sizeof(one));
  }

 private:
  // httplib's own version of this loop (not callable: it is private) keeps reading as long as
  // each recv takes under its read timeout. This one replaces it with the same keep-alive rules.
  bool process_and_close_socket(socket_t sock) override {
    if (ConnectionRefusedHere()) {
      RefuseConnection(sock);
      return false;
    }
    const auto write_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::seconds(write_timeout_sec_) + std::chrono::microseconds(write_timeout_usec_));
    DeadlineSocketStream stream(sock, stop_fd_, write_timeout);
    bool ok = true;
    close_after_reply = false;  // thread-local: this thread may have served another connection
    for (size_t left = keep_alive_max_count_; left > 0; --left) {
      if (!stream.WaitForRequest(std::chrono::seconds(keep_alive_timeout_sec_))) break;
      stream.SetReadDeadline(DeadlineSocketStream::Clock::now() + request_read_timeout_);
      close_after_reply = false;
      bool closed = false;
      ok = process_request(stream, /*close_connection=*/left == 1, closed, nullptr);
      // httplib answers a request cut off mid-headers with 400 and would keep the connection.
      if (!ok || closed || close_after_reply || stream.read_cut_off()) break;
    }
    if (close_after_reply) LingeringClose(sock, stop_fd_);
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }

  int stop_fd_;
  std::chrono::milliseconds request_read_timeout_{10000};
};

}  // namespace

struct HttpServer::Impl {
  Impl(const Model& model, Scheduler& scheduler, const HttpServerOptions& options)
      : scheduler(scheduler),
        options(options),
        api_keys(options.api_keys),
        completions{scheduler, model.tokenizer(), options.model_id, options.defaults, &metrics},
        props{options.model_id, options.model_path, ChatTemplate(model), scheduler.n_ctx(),
              options.defaults},
        created(std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count()) {}

  void SetUpRoutes();
  // Runs a handler; a thrown ApiError becomes its error reply.
  template <typename F>
  void Guarded(httplib::Response& res, F&& handler) {
    try {
      handler();
    } catch (const ApiError& e) {
      SendError(res, e);
    } catch (const Error& e) {
      SendError(res, Internal(e.what()));
    }
  }

  // A JSON-body route: the body read within the size limit, then `handler(body)`.
  template <typename F>
  void WithBody(httplib::Response& res, const httplib::ContentReader& reader, F&& handler) {
    Guarded(res, [&] {
      std::string body;
      try {
        body = ReadBoundedBody(reader, options.max_body_bytes);
      } catch (const ApiError&) {
        close_after_reply = true;  // the rest of the body is still on the way
        throw;
      }
      handler(body);
    });
  }
  static std::string ChatTemplate(const Model& model) {
    try {
      return std::string(model.file().GetString("tokenizer.chat_template"));
    } catch (const Error&) {
      return {};  // the file has none
    }
  }

  Scheduler& scheduler;
  HttpServerOptions options;
  ApiKeys api_keys;
  ServerMetrics metrics;
  CompletionService completions;
  ServerProps props;
  int64_t created;
  ConnectionServer http;
};

void HttpServer::Impl::SetUpRoutes() {
  const size_t max_connections = options.max_connections;
  http.new_task_queue = [max_connections] { return new ConnectionThreads(max_connections); };
  http.set_request_read_timeout(options.request_read_timeout);
  http.set_write_timeout(options.write_timeout.count() / 1000,
                         options.write_timeout.count() % 1000 * 1000);
  http.set_payload_max_length(options.max_body_bytes);
  // Stream chunks are small writes: without TCP_NODELAY, Nagle's algorithm holds each one back
  // until the previous is acknowledged (tens of ms with delayed ACKs).
  http.set_tcp_nodelay(true);
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    NoteRequestStart();
    const bool cors_granted = GrantCors(req, res, options.cors_origins);
    std::optional<ApiError> refusal = RefusalOfClient(req, options);
    if (!refusal) refusal = RefusalBeforeBody(req, options.max_body_bytes);
    if (refusal) {
      // The unread body must not be taken for the next request on this connection.
      close_after_reply = true;
      SendError(res, *refusal);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (cors_granted && req.method == "OPTIONS") {
      AnswerPreflight(res);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (api_keys.enabled() && !IsPublicRoute(req.method, req.path) &&
        !api_keys.Accepts(req.get_header_value("Authorization"))) {
      if (HasBody(req)) close_after_reply = true;  // refused unread
      SendError(res, Unauthorized(req.has_header("Authorization")));
      return httplib::Server::HandlerResponse::Handled;
    }
    // Nothing this server sends is a resource to take byte ranges of: httplib would answer a
    // POST with "Range:" by 206 and a slice of the reply (after generating all of it). The
    // ranges it parsed are dropped before routing, so every reply is whole (and 200). The
    // request object is httplib's own, not const; only the handler signature is.
    const_cast<httplib::Request&>(req).ranges.clear();
    return httplib::Server::HandlerResponse::Unhandled;
  });

  const auto json_reply = [](httplib::Response& res, const json& body) {
    res.set_content(JsonText(body), "application/json");
  };
  for (const char* path : {"/health", "/v1/health"}) {
    http.Get(path, [this, json_reply](const httplib::Request&, httplib::Response& res) {
      const HealthAnswer health = HealthReply(scheduler.stats());
      res.status = health.status;
      json_reply(res, health.body);
    });
  }
  for (const char* path : {"/v1/models", "/models"}) {
    http.Get(path, [this, json_reply](const httplib::Request&, httplib::Response& res) {
      const json model = {{"id", options.model_id},
                          {"object", "model"},
                          {"created", created},
                          {"owned_by", "bitjit"},
                          {"context_length", scheduler.n_ctx()}};
      json_reply(res, json{{"object", "list"}, {"data", json::array({model})}});
    });
  }
  AddWebPageRoutes(http);  // GET /: the chat page (tools/server/web_page.h)
  for (const auto& [path, endpoint] : CompletionRoutes()) {
    // A content-reader route: httplib leaves the body to the handler, which reads it bounded.
    http.Post(path, [this, endpoint](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
      WithBody(res, reader, [&](const std::string& body) {
        HandleCompletion(completions, endpoint, body, req, res);
      });
    });
  }
  http.Post("/tokenize", [this, json_reply](const httplib::Request&, httplib::Response& res,
                                            const httplib::ContentReader& reader) {
    WithBody(res, reader, [&](const std::string& body) {
      json_reply(res, TokenizeReply(completions.tokenizer, body));
    });
  });
  http.Post("/detokenize", [this, json_reply](const httplib::Request&, httplib::Response& res,
                                              const httplib::ContentReader& reader) {
    WithBody(res, reader, [&](const std::string& body) {
      json_reply(res, DetokenizeReply(completions.tokenizer, body));
    });
  });
  http.Get("/props", [this, json_reply](const httplib::Request&, httplib::Response& res) {
    json_reply(res, PropsReply(props, scheduler.stats()));
  });
  http.Get("/slots", [this, json_reply](const httplib::Request& req, httplib::Response& res) {
    const SchedulerStats stats = scheduler.stats();
    // llama-server's ?fail_on_no_slot=1: 503 when no slot is free.
    if (req.get_param_value("fail_on_no_slot") == "1" && stats.slots_busy >= stats.slots_total) {
      SendError(res, Overloaded("No slot is free."));
      return;
    }
    json_reply(res, SlotsReply(stats, scheduler.n_ctx()));
  });
  if (options.metrics) {
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics.Render(scheduler.stats(), scheduler.n_ctx()),
                      "text/plain; version=0.0.4");
    });
  }

  // httplib calls this for every reply with status >= 400: fill in the ones it made itself.
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || res.is_chunked_content_provider_) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        SendError(res, ErrorForStatus(req, res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SendError(res, Internal(what));
      });
  if (options.log_requests) http.set_logger(LogRequest);
}

HttpServer::HttpServer(const Model& model, Scheduler& scheduler, const HttpServerOptions& options)
    : impl_(std::make_unique<Impl>(model, scheduler, options)) {
  impl_->SetUpRoutes();
}

HttpServer::~HttpServer() = default;

int HttpServer::Bind(const std::string& host, int port) {
  int bound = port;
  if (port == 0) {
    bound = impl_->http.bind_to_any_port(host);
    if (bound <= 0) Fail("cannot listen on ", host, " (any port)");
  } else if (!impl_->http.bind_to_port(host, port)) {
    Fail("cannot listen on ", host, ":", port);
  }
  if (!impl_->http.WidenBacklog()) Fail("cannot listen on ", host, ":", bound);
  return bound;
}

void HttpServer::Listen() {
  impl_->http.listen_after_bind();
}

void HttpServer::Stop() {
  impl_->http.StopReading();  // connections waiting for or reading requests end now
  impl_->http.stop();
}

}  // namespace bitjit::server
