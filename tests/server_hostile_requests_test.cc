// `bitjit serve` against requests built to take it down: each one must end that request only,
// with an OpenAI-shaped error, and the server must go on answering. The real server binary runs
// on a loopback port, as in server_test.cc.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/server/http_client.h"
#include "tests/server/server_process.h"
#include "tests/testing/golden.h"
#include "tools/server/api_error.h"
#include "tools/server/completion_request.h"
#include "tools/server/json_depth.h"
#include "tools/server/request_log.h"

namespace bitjit {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using testing::Health;
using testing::Post;
using testing::Reply;
using testing::Send;
using testing::ServerProcess;

std::string TinyModel() {
  return testing::SharedDir() + "/golden/tiny/model.gguf";
}

json ShortChat() {
  return {
      {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 2}, {"temperature", 0}};
}

// `open` repeated `n` times, then `middle`, then `close` repeated `n` times.
std::string Nested(const std::string& open, const std::string& middle, const std::string& close,
                   size_t n) {
  std::string s;
  s.reserve(n * (open.size() + close.size()) + middle.size());
  for (size_t i = 0; i < n; ++i) s += open;
  s += middle;
  for (size_t i = 0; i < n; ++i) s += close;
  return s;
}

// Whether `reply` holds a whole response with a Content-Length (the server may keep the
// connection open after it).
bool IsWholeReply(const std::string& reply) {
  const size_t end = reply.find("\r\n\r\n");
  const size_t length = reply.find("Content-Length: ");
  if (end == std::string::npos || length == std::string::npos || length > end) return false;
  return reply.size() >= end + 4 + std::strtoull(reply.c_str() + length + 16, nullptr, 10);
}

// Sends `request` as is (no client library that would encode it) and returns what came back
// before the server closed the connection, or after 10 s. The request goes in pieces, and
// sending stops once the server answers: it may answer (413) before it has read all of it.
std::string RawExchange(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    for (size_t sent = 0; sent < request.size();) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 0) == 1) break;  // an early answer
      const size_t piece = std::min<size_t>(64 << 10, request.size() - sent);
      const ssize_t n = ::send(fd, request.data() + sent, piece, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    char buf[4096];
    for (ssize_t n; !IsWholeReply(reply) && (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) {
      reply.append(buf, n);
    }
  }
  ::close(fd);
  return reply;
}

// The HTTP status at the start of a raw reply, or 0.
int StatusOf(const std::string& reply) {
  return reply.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(reply.c_str() + 9) : 0;
}

// A completion request that is `size` bytes of valid JSON, most of them one string.
std::string LargeCompletionBody(size_t size) {
  const std::string head = R"({"prompt":"a","max_tokens":1,"x":")", tail = R"("})";
  return head + std::string(size - head.size() - tail.size(), 'a') + tail;
}

std::string Gzip(const std::string& data) {
  httplib::detail::gzip_compressor gzip;
  std::string out;
  gzip.compress(data.data(), data.size(), /*last=*/true, [&](const char* p, size_t n) {
    out.append(p, n);
    return true;
  });
  return out;
}

std::string Brotli(const std::string& data) {
  httplib::detail::brotli_compressor brotli;
  std::string out;
  brotli.compress(data.data(), data.size(), /*last=*/true, [&](const char* p, size_t n) {
    out.append(p, n);
    return true;
  });
  return out;
}

// `body` as chunks of `chunk` bytes, in chunked transfer coding.
std::string Chunked(const std::string& body, size_t chunk) {
  std::string out;
  char size_line[32];
  for (size_t at = 0; at < body.size(); at += chunk) {
    const size_t n = std::min(chunk, body.size() - at);
    std::snprintf(size_line, sizeof(size_line), "%zx\r\n", n);
    out += size_line + body.substr(at, n) + "\r\n";
  }
  return out + "0\r\n\r\n";
}

// The lines of `log` that contain `needle`.
std::vector<std::string> LinesWith(const std::string& log, const std::string& needle) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) lines.push_back(line);
  return lines;
}

TEST(EscapeForLog, KeepsPrintableAsciiAndEscapesTheRest) {
  EXPECT_EQ(server::EscapeForLog("/v1/models?x=1"), "/v1/models?x=1");
  EXPECT_EQ(server::EscapeForLog("/a\nb\r\x1b[31m\\\x7f\xc3\xa9"),
            "/a\\x0ab\\x0d\\x1b[31m\\x5c\\x7f\\xc3\\xa9");
}

TEST(JsonNestingDepth, CountsBracketsOutsideStringsOnly) {
  EXPECT_EQ(server::JsonNestingDepth("1"), 0u);
  EXPECT_EQ(server::JsonNestingDepth(R"({"a": [1, {"b": []}], "c": {}})"), 4u);
  EXPECT_EQ(server::JsonNestingDepth(R"({"a": "[[[{{{"})"), 1u);
  // An escaped quote does not end the string; an escaped backslash before a quote does.
  EXPECT_EQ(server::JsonNestingDepth(R"(["\"[[[", "\\", [[]]])"), 3u);
  EXPECT_EQ(server::JsonNestingDepth(Nested("[", "", "]", 150000)), 150000u);
  EXPECT_EQ(server::JsonNestingDepth("]]]["), 1u);  // malformed: still a number, no underflow
}

// JSON has no NaN or infinity, but a number may be as large as a client likes: every numeric
// field is range-checked and the error names it (a number beyond double, 1e400, is invalid JSON).
TEST(CompletionRequest, HugeNumbersAreRefusedByName) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"temperature", "1e308"},
      {"top_p", "-1e308"},
      {"min_p", "1e300"},
      {"top_k", "1e20"},
      {"top_k", "99999999999"},
      {"max_tokens", "1e30"},
      {"seed", "1e30"},
      {"n", "1e300"},
      {"max_tokens", "9223372036854775807"},
      {"max_tokens", "18446744073709551615"},
  };
  for (const auto& [field, value] : cases) {
    SCOPED_TRACE(field + " " + value);
    const std::string body = R"({"prompt": "a", ")" + field + "\": " + value + "}";
    try {
      server::ParseCompletionRequest(server::Endpoint::kCompletion, body);
      ADD_FAILURE() << "accepted: " << body;
    } catch (const server::ApiError& e) {
      EXPECT_EQ(e.status, 400);
      EXPECT_EQ(e.param, field) << e.message;
    }
  }
  try {
    server::ParseCompletionRequest(server::Endpoint::kCompletion,
                                   R"({"prompt": "a", "temperature": 1e400})");
    ADD_FAILURE() << "accepted 1e400";
  } catch (const server::ApiError& e) {
    EXPECT_EQ(e.code, "invalid_json") << e.message;
  }
}

class HostileRequests : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"-m", TinyModel(), "--parallel", "1", "-c", "256"});
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->Terminate(seconds(20)), 0) << server_->Log();
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_GT(server_->port(), 0) << server_->Log(); }
  // After each attack: the server is alive and still generates.
  void TearDown() override {
    EXPECT_EQ(Health(port())["status"], "ok") << server_->Log().substr(0, 2000);
    EXPECT_EQ(Post(port(), "/v1/chat/completions", ShortChat()).status, 200);
  }
  static int port() { return server_->port(); }

  static ServerProcess* server_;
};
ServerProcess* HostileRequests::server_ = nullptr;

// A 300 KB body of 150,000 nested arrays used to overflow the server's stack (a recursive copy
// of the message content); objects nested as deep likewise. Each gets a 400 that says why.
TEST_F(HostileRequests, DeepNestingIsRefusedBeforeItIsParsed) {
  const std::string chat_head = R"({"messages":[{"role":"user","content":)";
  const std::vector<std::pair<const char*, std::string>> bodies = {
      {"arrays in content", chat_head + Nested("[", "", "]", 150000) + "}]}"},
      {"objects in content", chat_head + Nested(R"({"a":)", "1", "}", 140000) + "}]}"},
      {"objects in an unknown field", R"({"messages":[{"role":"user","content":"hi"}],"x":)" +
                                          Nested(R"({"a":)", "1", "}", 140000) + "}"},
      {"arrays in a completion prompt", R"({"prompt":)" + Nested("[", "1", "]", 150000) + "}"},
  };
  for (const auto& [what, body] : bodies) {
    SCOPED_TRACE(what);
    const std::string path =
        body.rfind(R"({"prompt")", 0) == 0 ? "/v1/completions" : "/v1/chat/completions";
    const Reply r = Send(port(), "POST", path, body, seconds(30));
    ASSERT_EQ(r.status, 400) << r.raw.substr(0, 500) << server_->Log().substr(0, 2000);
    EXPECT_EQ(r.body["error"]["code"], "invalid_json") << r.raw;
    EXPECT_NE(r.body["error"]["message"].get<std::string>().find("at most 64"), std::string::npos)
        << r.raw;
  }
  // Nesting a valid request needs stays accepted.
  json parts = ShortChat();
  parts["messages"][0]["content"] = {{{"type", "text"}, {"text", "hi"}}};
  parts["metadata"] = {{"a", {{"b", {{"c", {1, 2}}}}}}};
  EXPECT_EQ(Post(port(), "/v1/chat/completions", parts).status, 200);
}

// httplib decodes %0a in a path into a newline: written raw, one request could forge log lines
// (and %1b send escape sequences to whoever tails the log).
TEST_F(HostileRequests, RequestPathsAreEscapedInTheLog) {
  const std::string reply =
      RawExchange(port(),
                  "GET /nowhere%0a127.0.0.1:1%20GET%20/forged%20200%201.000s%1b[31m%7f HTTP/1.1\r\n"
                  "Host: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 404", 0), 0u) << reply;
  const std::vector<std::string> lines = LinesWith(
      server_->LogWhen([](const std::string& l) { return !LinesWith(l, "/nowhere").empty(); }),
      "/nowhere");
  ASSERT_EQ(lines.size(), 1u) << server_->Log();
  EXPECT_NE(lines[0].find("/nowhere\\x0a127.0.0.1:1 GET /forged 200 1.000s\\x1b[31m\\x7f 404"),
            std::string::npos)
      << lines[0];
  EXPECT_TRUE(LinesWith(server_->Log(), "/forged").size() == 1) << server_->Log();
  const std::string log = server_->Log();
  EXPECT_EQ(log.find('\x1b'), std::string::npos);
  EXPECT_EQ(log.find('\x7f'), std::string::npos);
}

// Range is a GET's way to fetch part of a resource; on a POST httplib used to generate the whole
// reply and then send 206 with a slice of it (or a multipart/byteranges body).
TEST_F(HostileRequests, RangeHeaderIsIgnored) {
  httplib::Client cli("127.0.0.1", port());
  cli.set_read_timeout(seconds(60));
  for (const char* range : {"bytes=0-5", "bytes=0-1,3-4"}) {
    SCOPED_TRACE(range);
    const httplib::Result res = cli.Post("/v1/chat/completions", {{"Range", range}},
                                         ShortChat().dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    const json body = json::parse(res->body, nullptr, false);
    EXPECT_TRUE(body.is_object() && body.contains("choices")) << res->body;
  }
  const httplib::Result health = cli.Get("/health", {{"Range", "bytes=0-3"}});
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << health->body;
  EXPECT_EQ(json::parse(health->body, nullptr, false)["status"], "ok") << health->body;
}

// The 1 MiB body limit counts decoded bytes: a few KB of gzip, deflate or brotli that inflate to
// 4 MiB used to be inflated whole (254 KB of gzip made 256 MB) and then run.
TEST_F(HostileRequests, EncodedBodiesAreLimitedByTheirDecodedSize) {
  const std::string body = LargeCompletionBody(4 << 20);
  const std::vector<std::pair<std::string, std::string>> encodings = {
      {"gzip", Gzip(body)}, {"deflate", Gzip(body)}, {"br", Brotli(body)}};
  for (const auto& [encoding, encoded] : encodings) {
    SCOPED_TRACE(encoding);
    ASSERT_LT(encoded.size(), 64u << 10);
    const std::string reply =
        RawExchange(port(),
                    "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Content-Type: application/json\r\nContent-Encoding: " +
                        encoding + "\r\nContent-Length: " + std::to_string(encoded.size()) +
                        "\r\n\r\n" + encoded);
    EXPECT_EQ(StatusOf(reply), 413) << reply.substr(0, 500);
    EXPECT_NE(reply.find("request_too_large"), std::string::npos) << reply.substr(0, 500);
  }
  // An encoded body within the limit is still read.
  const std::string small = Gzip(ShortChat().dump());
  const std::string reply =
      RawExchange(port(),
                  "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
                  "Connection: close\r\nContent-Length: " +
                      std::to_string(small.size()) + "\r\n\r\n" + small);
  EXPECT_EQ(StatusOf(reply), 200) << reply.substr(0, 500);
}

// A chunked body has no Content-Length to compare: it used to be read whole, whatever its size.
TEST_F(HostileRequests, ChunkedBodiesOverTheLimitGet413) {
  for (const bool gzip : {false, true}) {
    SCOPED_TRACE(gzip ? "chunked gzip" : "chunked");
    const std::string body = LargeCompletionBody((1 << 20) + (512 << 10));
    const std::string reply =
        RawExchange(port(), std::string("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        "Content-Type: application/json\r\n") +
                                (gzip ? "Content-Encoding: gzip\r\n" : "") +
                                "Transfer-Encoding: chunked\r\n\r\n" +
                                Chunked(gzip ? Gzip(body) : body, 32 << 10));
    EXPECT_EQ(StatusOf(reply), 413) << reply.substr(0, 500);
  }
  // A small chunked body is fine.
  const std::string reply = RawExchange(port(),
                                        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        "Content-Type: application/json\r\nConnection: close\r\n"
                                        "Transfer-Encoding: chunked\r\n\r\n" +
                                            Chunked(ShortChat().dump(), 7));
  EXPECT_EQ(StatusOf(reply), 200) << reply.substr(0, 500);
}

// Bodies that no route reads are refused before they are read: a chunked body to an unknown
// path used to be read whole into memory, and a huge Content-Length read and thrown away.
TEST_F(HostileRequests, BodiesNoRouteReadsAreRefusedUnread) {
  const std::string chunked = RawExchange(port(),
                                          "POST /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                          "Transfer-Encoding: chunked\r\n\r\n" +
                                              Chunked(std::string(4 << 20, 'a'), 64 << 10));
  EXPECT_EQ(StatusOf(chunked), 404) << chunked.substr(0, 500);
  const auto start = std::chrono::steady_clock::now();
  const std::string huge = RawExchange(port(),
                                       "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                       "Content-Type: application/json\r\n"
                                       "Content-Length: 1000000000000\r\n\r\n{");
  EXPECT_EQ(StatusOf(huge), 413) << huge.substr(0, 500);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
}

}  // namespace
}  // namespace bitjit
