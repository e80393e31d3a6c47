// `bitjit serve` serving well, over HTTP against the real binary: prompt caching (a multi-turn
// chat reuses the slot that holds its history, and the text is the same with the cache off),
// chunked prefill (a prompt in pieces of 3 tokens gives the text of the prompt at once), the
// drain on SIGTERM (a running stream completes, new requests get 503, /health says draining,
// exit 0), and --timeout as the limit for a client that stops reading.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <regex>
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
using testing::Health;
using testing::Post;
using testing::PostStreaming;
using testing::Reply;
using testing::ServerProcess;
using testing::WaitForHealth;

// The text of a whole (not streamed) reply of either endpoint.
std::string ReplyText(const Reply& r) {
  if (r.status != 200 || !r.body.is_object()) return "<HTTP " + std::to_string(r.status) + ">";
  const json& choice = r.body["choices"][0];
  return choice.contains("message") ? choice["message"]["content"].get<std::string>()
                                    : choice["text"].get<std::string>();
}

// The "cached=N" figures of the request log, in order.
std::vector<int> CachedCounts(const std::string& log) {
  std::vector<int> counts;
  const std::regex re("cached=([0-9]+)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
       ++it) {
    counts.push_back(std::stoi((*it)[1]));
  }
  return counts;
}

// Three turns of a chat at temperature 0, each sending the history so far. Returns the replies.
// after_turn (if any) runs after each reply.
std::vector<std::string> ThreeTurns(int port, const json& extra = json::object(),
                                    const std::function<void()>& after_turn = {}) {
  json messages = json::array({{{"role", "system"}, {"content", "You are terse."}}});
  std::vector<std::string> replies;
  for (const char* user : {"The capital of France is", "And of Italy?", "Say it again."}) {
    messages.push_back({{"role", "user"}, {"content", user}});
    json body = {{"messages", messages}, {"max_tokens", 24}, {"temperature", 0}};
    body.update(extra);
    replies.push_back(ReplyText(Post(port, "/v1/chat/completions", body)));
    messages.push_back({{"role", "assistant"}, {"content", replies.back()}});
    if (after_turn) after_turn();
  }
  return replies;
}

std::string TinyModel() {
  return testing::GoldenModelPath("tiny");
}

TEST(ServePromptCache, MultiTurnChatReusesItsSlotAndKeepsItsText) {
  ServerProcess cached({"-m", TinyModel(), "--parallel", "2"});
  ServerProcess uncached({"-m", TinyModel(), "--parallel", "2", "--no-cache-prompt"});
  ASSERT_GT(cached.port(), 0) << cached.Log();
  ASSERT_GT(uncached.port(), 0) << uncached.Log();

  // The server logs a request after its reply is sent, so under load the next turn's line can
  // come first: each turn waits for its own line, which keeps the log in request order.
  size_t logged = 0;
  const auto wait_for_log_line = [&] {
    ++logged;
    cached.LogWhen([&](const std::string& l) { return CachedCounts(l).size() >= logged; });
  };
  const std::vector<std::string> with_cache =
      ThreeTurns(cached.port(), json::object(), wait_for_log_line);
  const std::vector<std::string> without = ThreeTurns(uncached.port());
  EXPECT_EQ(with_cache, without);
  // The request field turns it off for one request, on a server that caches.
  EXPECT_EQ(ThreeTurns(cached.port(), {{"cache_prompt", false}}, wait_for_log_line), with_cache);
  for (const std::string& r : with_cache) EXPECT_EQ(r.rfind("<HTTP", 0), std::string::npos) << r;

  // Turns 2 and 3 found their history in a slot; nothing was reused with the cache off.
  const std::string log =
      cached.LogWhen([](const std::string& l) { return CachedCounts(l).size() >= 6; });
  const std::vector<int> hits = CachedCounts(log);
  ASSERT_EQ(hits.size(), 6u) << cached.Log();
  EXPECT_EQ(hits[0], 0);
  EXPECT_GT(hits[1], 10) << cached.Log();
  EXPECT_GT(hits[2], hits[1]) << cached.Log();
  for (size_t i = 3; i < 6; ++i) EXPECT_EQ(hits[i], 0) << cached.Log();
  for (int n : CachedCounts(uncached.Log())) EXPECT_EQ(n, 0) << uncached.Log();
  EXPECT_EQ(cached.Terminate(seconds(20)), 0) << cached.Log();
  EXPECT_EQ(uncached.Terminate(seconds(20)), 0) << uncached.Log();
}

TEST(ServeChunkedPrefill, PromptInPiecesGivesTheTextOfThePromptAtOnce) {
  std::string prompt;
  for (int i = 0; i < 6; ++i)
    prompt += "Paris is a city of " + std::to_string(i * 7) + " bridges. ";
  for (const char* name : {"tiny", "e128-h1", "gqa4-k4224"}) {
    SCOPED_TRACE(name);
    const std::string model = testing::GoldenModelPath(name);
    ServerProcess pieces({"-m", model, "--prefill-chunk", "3", "--no-cache-prompt"});
    ServerProcess whole({"-m", model, "--prefill-chunk", "4096", "--no-cache-prompt"});
    ASSERT_GT(pieces.port(), 0) << pieces.Log();
    ASSERT_GT(whole.port(), 0) << whole.Log();
    const json body = {{"prompt", prompt}, {"max_tokens", 32}, {"temperature", 0}};
    const Reply a = Post(pieces.port(), "/v1/completions", body);
    const Reply b = Post(whole.port(), "/v1/completions", body);
    ASSERT_EQ(a.status, 200) << a.raw;
    ASSERT_EQ(b.status, 200) << b.raw;
    EXPECT_GT(a.body["usage"]["prompt_tokens"].get<int>(), 100) << a.raw;
    EXPECT_EQ(ReplyText(a), ReplyText(b));
    EXPECT_EQ(a.body["usage"], b.body["usage"]);
  }
}

// A stream read to its end on a thread of its own; `events` counts what has come so far.
struct FullStream {
  FullStream(int port, json body) {
    body["stream"] = true;
    thread = std::thread([this, port, body] {
      reply = PostStreaming(port, "/v1/completions", body, [this](const std::string& raw) {
        events.store(static_cast<int>(testing::SseData(raw).size()));
        return true;
      });
      over.store(true);
    });
  }
  ~FullStream() {
    if (thread.joinable()) thread.join();
  }
  bool WaitForEvents(int n, seconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (events.load() < n && !over.load() && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return events.load() >= n;
  }
  std::atomic<int> events{0};
  std::atomic<bool> over{false};
  Reply reply;
  std::thread thread;
};

TEST(ServeDrain, SigtermLetsARunningStreamFinishAndRefusesNewRequests) {
  ServerProcess server({"-m", TinyModel(), "--parallel", "2", "-c", "8192", "--allow-long-context",
                        "--timeout", "120"});
  ASSERT_GT(server.port(), 0) << server.Log();
  // Long enough to be running for a good while after the signal (the tiny model makes a few
  // hundred tokens a second here), short enough for the test.
  constexpr int kTokens = 3000;
  FullStream stream(server.port(), {{"prompt", "Once upon a time"},
                                    {"max_tokens", kTokens},
                                    {"ignore_eos", true},
                                    {"temperature", 0}});
  ASSERT_TRUE(stream.WaitForEvents(3, seconds(30))) << server.Log();
  ASSERT_EQ(kill(server.pid(), SIGTERM), 0);

  // Draining: /health says so with 503, a new request gets 503.
  const bool draining = WaitForHealth(
      server.port(), [](const json& h) { return h["status"] == "draining"; }, seconds(10));
  const Reply health = testing::Get(server.port(), "/health");
  const Reply refused = Post(server.port(), "/v1/completions",
                             {{"prompt", "late"}, {"max_tokens", 2}, {"temperature", 0}});
  const bool still_running = !stream.over.load();
  stream.thread.join();
  ASSERT_TRUE(draining && still_running)
      << "the stream ended before the drain could be seen; raise kTokens\n"
      << server.Log();
  EXPECT_EQ(health.status, 503) << health.raw;
  EXPECT_EQ(health.body["status"], "draining") << health.raw;
  EXPECT_EQ(refused.status, 503) << refused.raw;
  EXPECT_NE(refused.raw.find("server_shutting_down"), std::string::npos) << refused.raw;

  // The stream was not cut: every token, a normal finish, [DONE].
  const std::vector<std::string> data = testing::SseData(stream.reply.raw);
  ASSERT_GE(data.size(), 2u) << stream.reply.raw.substr(0, 500);
  EXPECT_EQ(data.back(), "[DONE]");
  const json last = json::parse(data[data.size() - 2]);
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length") << last;
  EXPECT_EQ(stream.reply.raw.find("server_shutting_down"), std::string::npos);

  // It exits by itself, with 0 (Terminate's own SIGTERM comes once the drain is over).
  for (int i = 0; i < 200 && kill(server.pid(), 0) == 0; ++i) {
    if (server.Log().find("shutting down") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(server.Terminate(seconds(20)), 0) << server.Log();
}

TEST(ServeDrain, DrainEndsAfterTimeout) {
  ServerProcess server({"-m", TinyModel(), "--parallel", "1", "-c", "65536", "--allow-long-context",
                        "--timeout", "1"});
  ASSERT_GT(server.port(), 0) << server.Log();
  FullStream endless(server.port(), {{"prompt", "Tell me everything."},
                                     {"max_tokens", 65000},
                                     {"ignore_eos", true},
                                     {"temperature", 0}});
  ASSERT_TRUE(endless.WaitForEvents(2, seconds(30))) << server.Log();
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(server.pid(), SIGTERM), 0);
  endless.thread.join();
  // Cut at --timeout: the stream's last event says why.
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(10));
  EXPECT_NE(endless.reply.raw.find("server_shutting_down"), std::string::npos)
      << endless.reply.raw.substr(endless.reply.raw.size() - 300);
  EXPECT_EQ(server.Terminate(seconds(20)), 0) << server.Log();
}

// A raw connection that sends a streamed request and then reads nothing.
int StalledReader(int port, const json& body) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return -1;
  const std::string text = body.dump();
  const std::string req =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(text.size()) + "\r\n\r\n" + text;
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return -1;
  }
  return fd;
}

// The kernel's socket buffers take a stalled reader's first megabytes (here ~30 s of the tiny
// model's stream); then every write waits, and --timeout 2 drops the client after 2 s of that.
// (httplib's fixed 5 s did the same before --timeout set it; the default is now 600 s.)
TEST(ServeTimeout, ClientThatStopsReadingIsDroppedAfterTimeout) {
  const json endless = {{"messages", {{{"role", "user"}, {"content", "Go on."}}}},
                        {"max_tokens", 65000},
                        {"ignore_eos", true},
                        {"temperature", 0},
                        {"stream", true}};
  ServerProcess server({"-m", TinyModel(), "--parallel", "1", "-c", "65536", "--allow-long-context",
                        "--timeout", "2"});
  ASSERT_GT(server.port(), 0) << server.Log();
  const int fd = StalledReader(server.port(), endless);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(WaitForHealth(
      server.port(), [](const json& h) { return h["slots_busy"] == 1; }, seconds(10)));
  EXPECT_TRUE(WaitForHealth(
      server.port(), [](const json& h) { return h["slots_busy"] == 0; }, seconds(150)))
      << Health(server.port());
  close(fd);
  const std::string log = server.LogWhen(
      [](const std::string& l) { return l.find("finish=client_gone") != std::string::npos; });
  EXPECT_NE(log.find("finish=client_gone"), std::string::npos) << log;
  EXPECT_EQ(server.Terminate(seconds(20)), 0) << server.Log();
}

}  // namespace
}  // namespace bitjit
