// llama-server (build/bin/llama-server): bitnet.cpp's run_inference_server.py command line on a
// loopback port, answering OpenAI requests with -n, --temp and -p as the defaults of requests
// that leave them out; llama-server's other flags, --api-key and --metrics.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/server/http_client.h"
#include "tests/server/server_process.h"
#include "tests/testing/cli.h"
#include "tools/server/completion_request.h"

namespace bitjit {
namespace {

using std::chrono::seconds;
using testing::BinProgram;
using testing::json;
using testing::Reply;
using testing::ServerProcess;
using testing::SynthTinyModel;

// run_inference_server.py: llama-server -m MODEL -c CTX -t T -n N -ngl 0 --temp X --host H
// --port P -cb -p SYSTEM_PROMPT (here --port 0: any free port).
TEST(LlamaServer, RunInferenceServerScriptCommandLine) {
  ServerProcess server(
      BinProgram("llama-server"),
      {"-m", SynthTinyModel(), "-c", "2048", "-t", "2", "-n", "6", "-ngl", "0", "--temp", "0.8",
       "--host", "127.0.0.1", "--port", "0", "-cb", "-p", "You are a helpful assistant"},
      seconds(60));
  ASSERT_GT(server.port(), 0) << server.Log();
  EXPECT_EQ(testing::Health(server.port())["slots_total"], 1);  // llama-server's -np 1
  // No max_tokens: the server's -n 6 caps the reply.
  const Reply r = testing::Post(
      server.port(), "/v1/chat/completions",
      {{"messages", {{{"role", "user"}, {"content", "Hello"}}}}, {"ignore_eos", true}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["usage"]["completion_tokens"], 6) << r.raw;
  EXPECT_EQ(r.body["choices"][0]["finish_reason"], "length") << r.raw;
  EXPECT_TRUE(r.body["choices"][0]["message"]["content"].is_string());
  // A request's own max_tokens wins over -n.
  const Reply own = testing::Post(server.port(), "/v1/completions",
                                  {{"prompt", "Once"}, {"max_tokens", 3}, {"ignore_eos", true}});
  ASSERT_EQ(own.status, 200) << own.raw;
  EXPECT_EQ(own.body["usage"]["completion_tokens"], 3) << own.raw;
  EXPECT_EQ(server.Terminate(seconds(20)), 0) << server.Log();
}

TEST(LlamaServer, ParallelSlotsAndAlias) {
  ServerProcess server(BinProgram("llama-server"),
                       {"-m", SynthTinyModel(), "-c", "512", "-np", "2", "-a", "bitnet-2b",
                        "--timeout", "30", "--port", "0", "--host", "127.0.0.1"},
                       seconds(60));
  ASSERT_GT(server.port(), 0) << server.Log();
  EXPECT_EQ(testing::Health(server.port())["slots_total"], 2);
  const Reply models = testing::Get(server.port(), "/v1/models");
  ASSERT_EQ(models.status, 200) << models.raw;
  EXPECT_EQ(models.body["data"][0]["id"], "bitnet-2b");
  const Reply r = testing::Post(server.port(), "/v1/chat/completions",
                                {{"model", "bitnet-2b"},
                                 {"max_tokens", 2},
                                 {"messages", {{{"role", "user"}, {"content", "Hi"}}}}});
  EXPECT_EQ(r.status, 200) << r.raw;
}

// llama-server's --api-key and --metrics reach bitjit serve: a key is required, /metrics served.
TEST(LlamaServer, ApiKeyAndMetricsPassThrough) {
  ServerProcess server(BinProgram("llama-server"),
                       {"-m", SynthTinyModel(), "--api-key", "secret-key", "--metrics", "--port",
                        "0", "--host", "127.0.0.1"},
                       seconds(60));
  ASSERT_GT(server.port(), 0) << server.Log();
  EXPECT_EQ(testing::Get(server.port(), "/health").status, 200);
  EXPECT_EQ(testing::Get(server.port(), "/metrics").status, 401);
  httplib::Client cli("127.0.0.1", server.port());
  const auto metrics = cli.Get("/metrics", {{"Authorization", "Bearer secret-key"}});
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("llamacpp:prompt_tokens_total"), std::string::npos);
  EXPECT_EQ(server.Terminate(seconds(20)), 0) << server.Log();
}

// -p / --temp / -n reach requests as defaults only where the request is silent.
TEST(LlamaServer, RequestDefaultsFillOnlyWhatTheRequestLeavesOut) {
  server::RequestDefaults d;
  d.max_tokens = 7;
  d.temperature = 0.25f;
  d.system_prompt = "Be brief.";
  const auto silent = server::ParseCompletionRequest(
      server::Endpoint::kChat, R"({"messages": [{"role": "user", "content": "Hi"}]})", d);
  ASSERT_EQ(silent.messages.size(), 2u);
  EXPECT_EQ(silent.messages[0].role, "system");
  EXPECT_EQ(silent.messages[0].content, "Be brief.");
  EXPECT_EQ(silent.max_tokens, 7);
  EXPECT_FLOAT_EQ(silent.temperature, 0.25f);
  const auto own = server::ParseCompletionRequest(
      server::Endpoint::kChat,
      R"({"messages": [{"role": "system", "content": "Mine."}, {"role": "user", "content": "Hi"}],
          "max_tokens": 3, "temperature": 0})",
      d);
  ASSERT_EQ(own.messages.size(), 2u);
  EXPECT_EQ(own.messages[0].content, "Mine.");
  EXPECT_EQ(own.max_tokens, 3);
  EXPECT_FLOAT_EQ(own.temperature, 0.0f);
}

}  // namespace
}  // namespace bitjit
