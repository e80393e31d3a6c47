// `bitjit serve` against clients that connect and then send slowly or not at all (slowloris):
// /health must keep answering, a request too slow to arrive is cut off at
// --request-read-timeout, and SIGTERM does not wait for such clients. Every attack here is
// bounded: at most 1000 sockets, a few seconds each.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/server/http_client.h"
#include "tests/server/server_process.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using testing::ServerProcess;

std::vector<std::string> ServerArgs() {
  return {"-m",
          testing::SharedDir() + "/golden/tiny/model.gguf",
          "--parallel",
          "1",
          "-c",
          "256",
          "--request-read-timeout",
          "2"};
}

// A loopback connection that has sent `sent`; -1 when it could not connect.
int Connect(int port, const std::string& sent) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::send(fd, sent.data(), sent.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(sent.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Clients that each send the start of a request, then one more header byte every `interval`
// (never the end of the headers), until destroyed.
class Drippers {
 public:
  Drippers(int port, int n, milliseconds interval) {
    for (int i = 0; i < n; ++i) {
      const int fd = Connect(port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
      if (fd >= 0) fds_.push_back(fd);
    }
    thread_ = std::thread([this, interval] {
      while (!done_) {
        for (int fd : fds_) ::send(fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        for (auto t = milliseconds(0); t < interval && !done_; t += milliseconds(50)) {
          std::this_thread::sleep_for(milliseconds(50));
        }
      }
    });
  }
  ~Drippers() {
    done_ = true;
    thread_.join();
    for (int fd : fds_) ::close(fd);
  }
  size_t size() const { return fds_.size(); }

 private:
  std::vector<int> fds_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// The slowest of /health's answers, asked every 100 ms for `span` (a missing answer counts as
// `span`).
Clock::duration SlowestHealth(int port, Clock::duration span) {
  Clock::duration slowest{};
  for (const auto end = Clock::now() + span; Clock::now() < end;) {
    const auto start = Clock::now();
    const testing::Reply r = testing::Send(port, "GET", "/health", "", seconds(4));
    slowest = std::max(slowest, r.status == 200 ? Clock::now() - start : span);
    std::this_thread::sleep_for(milliseconds(100));
  }
  return slowest;
}

class SlowClients : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GT(server_.port(), 0) << server_.Log(); }
  int port() const { return server_.port(); }

  ServerProcess server_{ServerArgs()};
};

// 40 connections dripping a header byte every second (more than the 7 threads httplib's pool
// had: /health timed out for as long as they dripped).
TEST_F(SlowClients, DrippingHeadersDoNotStopHealth) {
  Drippers drippers(port(), 40, milliseconds(1000));
  ASSERT_EQ(drippers.size(), 40u);
  const auto slowest = SlowestHealth(port(), seconds(4));
  EXPECT_LT(slowest, seconds(2)) << std::chrono::duration<double>(slowest).count() << " s";
}

// 200 connections that send nothing (each held one of the pool's threads for the 5 s keep-alive
// wait, so /health queued behind all of them).
TEST_F(SlowClients, IdleConnectionsDoNotDelayHealth) {
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) {
    const int fd = Connect(port(), "");
    if (fd >= 0) idle.push_back(fd);
  }
  ASSERT_EQ(idle.size(), 200u);
  const auto slowest = SlowestHealth(port(), seconds(2));
  for (int fd : idle) ::close(fd);
  EXPECT_LT(slowest, seconds(2)) << std::chrono::duration<double>(slowest).count() << " s";
}

// A request whose headers never end is cut off at --request-read-timeout (2 s here), however
// often its bytes come: httplib's timeout was per recv, so a byte every 0.5 s kept it forever.
TEST_F(SlowClients, RequestTooSlowToArriveIsCutOff) {
  const int fd = Connect(port(), "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
  ASSERT_GE(fd, 0);
  const auto start = Clock::now();
  bool closed = false;
  while (!closed && Clock::now() - start < seconds(8)) {
    ::send(fd, "a", 1, MSG_NOSIGNAL);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 500) == 1) {
      char buf[512];
      closed = ::recv(fd, buf, sizeof(buf), 0) <= 0;  // after a 400, the connection ends
    }
  }
  const auto took = Clock::now() - start;
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_GE(took, milliseconds(1500));
  EXPECT_LT(took, milliseconds(4500)) << std::chrono::duration<double>(took).count() << " s";
}

// SIGTERM used to wait for dripping clients for as long as they dripped.
TEST_F(SlowClients, SigtermDoesNotWaitForDrippers) {
  Drippers drippers(port(), 16, milliseconds(500));
  ASSERT_EQ(drippers.size(), 16u);
  std::this_thread::sleep_for(milliseconds(500));
  const auto start = Clock::now();
  EXPECT_EQ(server_.Terminate(seconds(5)), 0) << server_.Log();
  EXPECT_LT(Clock::now() - start, seconds(3));
}

// A thousand misbehaving sockets at once (400 silent, 300 dripping header bytes, 300 that announce
// a body and never send it), within --max-connections: /health keeps answering, a running
// stream keeps streaming, and the server's memory stays bounded. Then all is as before.
TEST(ThousandSockets, HealthAndARunningStreamKeepAnswering) {
  ServerProcess server({"-m", testing::SharedDir() + "/golden/tiny/model.gguf", "--parallel", "1",
                        "-c", "65536", "--allow-long-context", "--request-read-timeout", "8",
                        "--max-connections", "1100"});
  ASSERT_GT(server.port(), 0) << server.Log();
  nlohmann::json chat = {{"messages", {{{"role", "user"}, {"content", "Tell me everything."}}}},
                         {"max_tokens", 65000},
                         {"ignore_eos", true}};
  testing::HeldStream stream(server.port(), chat);
  ASSERT_TRUE(stream.WaitForEvents(2, seconds(30))) << server.Log();

  std::vector<int> silent;
  for (int i = 0; i < 400; ++i) {
    const int fd = Connect(server.port(), "");
    if (fd >= 0) silent.push_back(fd);
  }
  std::vector<int> no_body;
  for (int i = 0; i < 300; ++i) {
    const int fd = Connect(server.port(),
                           "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n");
    if (fd >= 0) no_body.push_back(fd);
  }
  Drippers drippers(server.port(), 300, milliseconds(1000));
  ASSERT_EQ(silent.size() + no_body.size() + drippers.size(), 1000u);

  const size_t events_before = stream.events();
  const auto slowest = SlowestHealth(server.port(), seconds(4));
  const size_t events_during = stream.events() - events_before;
  EXPECT_LT(slowest, seconds(2)) << std::chrono::duration<double>(slowest).count() << " s";
  EXPECT_GT(events_during, 20u) << "the running stream stalled";
  // Resident memory: threads' stacks are touched only as deep as they ran.
  const std::string status = testing::ReadFile("/proc/" + std::to_string(server.pid()) + "/status");
  const size_t at = status.find("VmRSS:");
  ASSERT_NE(at, std::string::npos);
  EXPECT_LT(std::stol(status.substr(at + 6)), 512 * 1024) << status.substr(at, 40);

  for (int fd : silent) ::close(fd);
  for (int fd : no_body) ::close(fd);
  stream.Close();
  EXPECT_TRUE(testing::WaitForHealth(
      server.port(), [](const nlohmann::json& h) { return h["slots_busy"] == 0; }, seconds(10)));
  EXPECT_EQ(server.Terminate(seconds(10)), 0) << server.Log().substr(0, 2000);
}

// Past --max-connections a connection is answered 503 at once instead of waiting, unseen, in a
// queue behind the connections that hold every thread; once they go, it is served again.
TEST(ConnectionCap, ConnectionsPastTheCapGet503AtOnce) {
  std::vector<std::string> args = ServerArgs();
  args.insert(args.end(), {"--max-connections", "8"});
  ServerProcess server(args);
  ASSERT_GT(server.port(), 0) << server.Log();
  std::vector<int> held;
  for (int i = 0; i < 8; ++i) held.push_back(Connect(server.port(), "GET /health HTTP/1.1\r\n"));
  // Each held connection has its thread once its first bytes are read: give them a moment.
  std::this_thread::sleep_for(milliseconds(300));
  const auto start = Clock::now();
  const testing::Reply refused = testing::Send(server.port(), "GET", "/health", "", seconds(4));
  EXPECT_EQ(refused.status, 503) << refused.raw;
  EXPECT_LT(Clock::now() - start, seconds(1));
  EXPECT_EQ(refused.body["error"]["type"], "server_error") << refused.raw;
  for (int fd : held) ::close(fd);
  EXPECT_TRUE(testing::WaitForHealth(
      server.port(), [](const nlohmann::json& h) { return h["status"] == "ok"; }, seconds(5)));
}

}  // namespace
}  // namespace bitjit
