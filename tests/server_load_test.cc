// `bitjit serve` under load, over HTTP against the real binary (loopback, bounded): 64
// concurrent streaming clients on 8 slots and a queue, a quarter of them hanging up mid-stream.
// Every other client gets exactly the text its prompt gets alone at temperature 0, every slot is
// idle afterwards, and resident memory after 2,000 requests is within 5% of what it was after
// the first 100. scripts/serve_soak.py runs the same with any model, count and concurrency.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/server/http_client.h"
#include "tests/server/server_process.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using testing::Post;
using testing::PostStreaming;
using testing::Reply;
using testing::ServerProcess;

constexpr int kPrompts = 8;

json Body(int prompt, bool stream, int max_tokens = 24) {
  return {{"prompt", "Request " + std::to_string(prompt) + ": tell a story about the number " +
                         std::to_string(prompt * 13 + 1)},
          {"max_tokens", max_tokens},
          {"temperature", 0},
          {"stream", stream}};
}

// The text of a stream of /v1/completions chunks; `complete` says whether it ended normally.
std::string StreamText(const std::string& raw, bool* complete) {
  std::string text;
  *complete = false;
  for (const std::string& d : testing::SseData(raw)) {
    if (d == "[DONE]") {
      *complete = true;
      break;
    }
    const json chunk = json::parse(d, nullptr, false);
    if (!chunk.is_object() || !chunk.contains("choices")) return "<bad event: " + d + ">";
    text += chunk["choices"][0].value("text", "");
  }
  return text;
}

long ResidentKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// `clients` threads run `total` streamed requests between them; returns how many came whole.
int RunRequests(int port, int clients, int total) {
  std::atomic<int> next{0}, whole{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < total;) {
        const Reply r = PostStreaming(port, "/v1/completions", Body(i % kPrompts, true));
        bool complete = false;
        StreamText(r.raw, &complete);
        if (r.status == 200 && complete) whole.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  return whole.load();
}

TEST(ServeLoad, SixtyFourClientsAQuarterLeavingNoLeakNoChange) {
  ServerProcess server(
      {"-m", testing::GoldenModelPath("tiny"), "--parallel", "8", "--queue", "56", "--quiet"});
  ASSERT_GT(server.port(), 0) << server.Log();
  const int port = server.port();

  std::vector<std::string> alone(kPrompts);
  for (int p = 0; p < kPrompts; ++p) {
    const Reply r = Post(port, "/v1/completions", Body(p, false));
    ASSERT_EQ(r.status, 200) << r.raw;
    alone[p] = r.body["choices"][0]["text"];
  }

  constexpr int kClients = 64;
  std::vector<std::string> got(kClients);
  std::vector<bool> complete(kClients);
  std::vector<int> status(kClients);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      // A client that leaves asks for a long reply, so that it surely leaves mid-stream.
      const bool leaves = c % 4 == 0;
      json body = Body(c % kPrompts, true, leaves ? 200 : 24);
      if (leaves) body["ignore_eos"] = true;
      const Reply r = PostStreaming(port, "/v1/completions", body, [&](const std::string& raw) {
        // Hang up once the first text has come.
        return !leaves || raw.find("\"text\"") == std::string::npos;
      });
      bool whole = false;
      got[c] = StreamText(r.raw, &whole);
      complete[c] = whole;
      status[c] = r.status;
    });
  }
  for (auto& t : threads) t.join();
  for (int c = 0; c < kClients; ++c) {
    if (c % 4 == 0) {
      EXPECT_FALSE(complete[c]) << "client " << c << " was to leave mid-stream";
      continue;
    }
    EXPECT_EQ(status[c], 200) << "client " << c;
    EXPECT_TRUE(complete[c]) << "client " << c << ": " << got[c];
    EXPECT_EQ(got[c], alone[c % kPrompts]) << "client " << c;
  }
  const auto idle = [](const json& h) {
    return h["slots_idle"] == 8 && h["slots_busy"] == 0 && h["requests_waiting"] == 0;
  };
  EXPECT_TRUE(testing::WaitForHealth(port, idle, seconds(20))) << testing::Health(port);

  // Memory: after the first 100 requests, and after 2,000.
  EXPECT_EQ(RunRequests(port, 64, 100 - kPrompts - kClients), 100 - kPrompts - kClients);
  // Measured once the server has been idle past its heap trim (tools/server/scheduler.cc).
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  const long after_100 = ResidentKiB(server.pid());
  EXPECT_EQ(RunRequests(port, 64, 1900), 1900);
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  const long after_2000 = ResidentKiB(server.pid());
  ASSERT_GT(after_100, 0);
  EXPECT_LE(after_2000, after_100 * 105 / 100) << after_100 << " KiB, then " << after_2000;
  std::printf("VmRSS after 100 requests: %ld KiB, after 2000: %ld KiB\n", after_100, after_2000);
  EXPECT_TRUE(testing::WaitForHealth(port, idle, seconds(20))) << testing::Health(port);
  EXPECT_EQ(server.Terminate(seconds(20)), 0) << server.Log();
}

}  // namespace
}  // namespace bitjit
