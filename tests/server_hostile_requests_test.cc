// `bitjit serve` against requests built to take it down: each one must end that request only,
// with an OpenAI-shaped error, and the server must go on answering. The real server binary runs
// on a loopback port, as in server_test.cc.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "tests/server/http_client.h"
#include "tests/server/server_process.h"
#include "tests/testing/golden.h"
#include "tools/server/json_depth.h"

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

TEST(JsonNestingDepth, CountsBracketsOutsideStringsOnly) {
  EXPECT_EQ(server::JsonNestingDepth("1"), 0u);
  EXPECT_EQ(server::JsonNestingDepth(R"({"a": [1, {"b": []}], "c": {}})"), 4u);
  EXPECT_EQ(server::JsonNestingDepth(R"({"a": "[[[{{{"})"), 1u);
  // An escaped quote does not end the string; an escaped backslash before a quote does.
  EXPECT_EQ(server::JsonNestingDepth(R"(["\"[[[", "\\", [[]]])"), 3u);
  EXPECT_EQ(server::JsonNestingDepth(Nested("[", "", "]", 150000)), 150000u);
  EXPECT_EQ(server::JsonNestingDepth("]]]["), 1u);  // malformed: still a number, no underflow
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

}  // namespace
}  // namespace bitjit
