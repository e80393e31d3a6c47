#include "tools/server/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <exception>
#include <optional>

#include "ir/base/error.h"
#include "runtime/model.h"
#include "tools/server/api_error.h"
#include "tools/server/completion_handler.h"
#include "tools/server/openai_format.h"
#include "tools/server/request_body.h"
#include "tools/server/request_log.h"
#include "tools/server/scheduler.h"

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

bool IsCompletionRoute(const httplib::Request& req) {
  return req.method == "POST" &&
         (req.path == "/v1/chat/completions" || req.path == "/v1/completions");
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

// cpp-httplib 0.11 listens with a backlog of 5: a burst of new clients overflows it and the
// kernel drops their SYNs, which clients resend only after a second. Calling listen() again on
// the bound socket (its descriptor is a protected member) widens the backlog.
class WideBacklogServer : public httplib::Server {
 public:
  bool WidenBacklog() { return ::listen(svr_sock_, SOMAXCONN) == 0; }
};

}  // namespace

struct HttpServer::Impl {
  Impl(const Model& model, Scheduler& scheduler, const HttpServerOptions& options)
      : scheduler(scheduler),
        options(options),
        completions{scheduler, model.tokenizer(), options.model_id},
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

  Scheduler& scheduler;
  HttpServerOptions options;
  CompletionService completions;
  int64_t created;
  WideBacklogServer http;
};

void HttpServer::Impl::SetUpRoutes() {
  const int n_threads = options.n_threads;
  http.new_task_queue = [n_threads] { return new httplib::ThreadPool(n_threads); };
  http.set_payload_max_length(options.max_body_bytes);
  // Stream chunks are small writes: without TCP_NODELAY, Nagle's algorithm holds each one back
  // until the previous is acknowledged (tens of ms with delayed ACKs).
  http.set_tcp_nodelay(true);
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    NoteRequestStart();
    if (std::optional<ApiError> refusal = RefusalBeforeBody(req, options.max_body_bytes)) {
      // The unread body must not be taken for the next request on this connection.
      res.set_header("Connection", "close");
      SendError(res, *refusal);
      return httplib::Server::HandlerResponse::Handled;
    }
    // Nothing this server sends is a resource to take byte ranges of: httplib would answer a
    // POST with "Range:" by 206 and a slice of the reply (after generating all of it). The
    // ranges it parsed are dropped before routing, so every reply is whole (and 200). The
    // request object is httplib's own, not const; only the handler signature is.
    const_cast<httplib::Request&>(req).ranges.clear();
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const SchedulerStats s = scheduler.stats();
    const json body = {{"status", "ok"},
                       {"slots_total", s.slots_total},
                       {"slots_idle", s.slots_total - s.slots_busy},
                       {"slots_busy", s.slots_busy},
                       {"requests_waiting", s.waiting}};
    res.set_content(JsonText(body), "application/json");
  });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    const json model = {{"id", options.model_id},
                        {"object", "model"},
                        {"created", created},
                        {"owned_by", "bitjit"},
                        {"context_length", scheduler.n_ctx()}};
    res.set_content(JsonText(json{{"object", "list"}, {"data", json::array({model})}}),
                    "application/json");
  });
  for (auto [path, endpoint] : {std::pair{"/v1/chat/completions", Endpoint::kChat},
                                std::pair{"/v1/completions", Endpoint::kCompletion}}) {
    // A content-reader route: httplib leaves the body to the handler, which reads it bounded.
    http.Post(path, [this, endpoint](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
      Guarded(res, [&] {
        const std::string body = ReadBoundedBody(reader, options.max_body_bytes);
        HandleCompletion(completions, endpoint, body, req, res);
      });
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
  impl_->http.stop();
}

}  // namespace bitjit::server
