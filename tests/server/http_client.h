// Test helper: HTTP calls to a running `bitjit serve` with cpp-httplib's client: plain JSON
// requests, requests whose (streamed) body is read as it arrives, /health polling, and a
// streamed chat request held open on a thread of its own until released.
// Header-only: tests/CMakeLists.txt compiles tests/*_test.cc and tests/testing/*.cc only.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/server/sse.h"

namespace bitjit::testing {

using nlohmann::json;
using std::chrono::seconds;

struct Reply {
  int status = 0;  // 0: no response (connection failed or dropped)
  json body;       // parsed JSON, or null
  std::string raw;
};

// GET, OPTIONS or POST (a JSON body), with `headers` of its own (Authorization, Origin).
inline Reply Send(int port, const std::string& method, const std::string& path,
                  const std::string& body, seconds timeout = seconds(60),
                  const httplib::Headers& headers = {}) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(timeout);
  cli.set_write_timeout(timeout);
  httplib::Result res = method == "GET" ? cli.Get(path.c_str(), headers)
                        : method == "OPTIONS"
                            ? cli.Options(path.c_str(), headers)
                            : cli.Post(path.c_str(), headers, body, "application/json");
  Reply r;
  if (!res) return r;
  r.status = res->status;
  r.raw = res->body;
  r.body = json::parse(r.raw, nullptr, false);
  if (r.body.is_discarded()) r.body = nullptr;
  return r;
}
inline Reply Get(int port, const std::string& path) {
  return Send(port, "GET", path, "");
}
inline Reply Post(int port, const std::string& path, const json& body) {
  return Send(port, "POST", path, body.dump());
}

// A POST whose response body is read as it arrives; `on_data` sees the body so far after every
// piece and may return false to drop the connection.
inline Reply PostStreaming(int port, const std::string& path, const json& body,
                           const std::function<bool(const std::string&)>& on_data = nullptr) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(seconds(60));
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  Reply r;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    r.raw.append(data, n);
    return !on_data || on_data(r.raw);
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  cli.send(req, res, error);
  r.status = res.status > 0 ? res.status : 0;
  if (r.raw.empty()) r.raw = res.body;
  return r;
}

inline std::vector<json> Chunks(const std::string& raw) {
  std::vector<json> chunks;
  for (const std::string& d : SseData(raw)) {
    if (d != "[DONE]") chunks.push_back(json::parse(d));
  }
  return chunks;
}

inline json Health(int port) {
  return Get(port, "/health").body;
}

// Polls /health until `ready` holds or `deadline` passes. The server is another process, so
// there is nothing to wait on but its answers.
inline bool WaitForHealth(int port, const std::function<bool(const json&)>& ready,
                          seconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    const json h = Health(port);
    if (h.is_object() && ready(h)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// A streamed chat request on a thread of its own that stays connected, reading what comes, until
// Release(): then it drops the connection when the next bytes arrive.
class HeldStream {
 public:
  HeldStream(int port, json body) {
    body["stream"] = true;
    thread_ = std::thread([this, port, body] {
      reply_ = PostStreaming(port, "/v1/chat/completions", body, [this](const std::string& raw) {
        std::lock_guard lock(mu_);
        // Counted as the bytes come (an endless stream must not be re-parsed each time).
        for (size_t at; (at = raw.find("\n\n", scanned_)) != std::string::npos; scanned_ = at + 2) {
          ++events_;
        }
        cv_.notify_all();
        return !released_;
      });
      std::lock_guard lock(mu_);
      over_ = true;
      cv_.notify_all();
    });
  }
  ~HeldStream() { Close(); }

  // Waits until at least `n` events arrived (1: the role chunk, the request is accepted; 2: text,
  // the request holds a slot).
  bool WaitForEvents(size_t n, seconds deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return events_ >= n || over_; }) && events_ >= n;
  }
  size_t events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
  }
  // Releases and waits for the connection to be gone.
  const Reply& Close() {
    Release();
    if (thread_.joinable()) thread_.join();
    return reply_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t events_ = 0, scanned_ = 0;
  bool released_ = false, over_ = false;
  Reply reply_;
  std::thread thread_;
};

}  // namespace bitjit::testing
