// `bitjit serve`: the pieces that need no server (stop strings, UTF-8 clean-up, request checks,
// reply assembly), then the real server binary on a loopback port, driven over HTTP with
// cpp-httplib's client and with the official openai npm client: routes, OpenAI shapes, streams
// equal to whole replies, errors, the waiting queue (503), dropped clients freeing their slots,
// 16 concurrent streams equal to solitary runs, and shutdown on SIGTERM.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "frontend/tokenizer/chat_format.h"
#include "runtime/generate.h"
#include "runtime/model.h"
#include "tests/server/http_client.h"
#include "tests/server/server_process.h"
#include "tests/server/sse.h"
#include "tests/testing/golden.h"
#include "tools/server/api_error.h"
#include "tools/server/completion_request.h"

namespace bitjit {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using testing::Get;
using testing::Health;
using testing::HeldStream;
using testing::Post;
using testing::PostStreaming;
using testing::Reply;
using testing::Send;
using testing::ServerProcess;
using testing::WaitForHealth;

std::string TinyModel() {
  return testing::SharedDir() + "/golden/tiny/model.gguf";
}

// ---------------------------------------------------------------- pieces without a server

server::ApiError ParseError(server::Endpoint endpoint, const std::string& body) {
  try {
    server::ParseCompletionRequest(endpoint, body);
  } catch (const server::ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body;
  return {};
}

TEST(CompletionRequest, ParsesTheOpenAiFields) {
  const auto r = server::ParseCompletionRequest(
      server::Endpoint::kChat,
      R"({"model": "m", "messages": [{"role": "developer", "content": "Be brief."},
          {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "!"}]}],
          "max_tokens": 7, "temperature": 0, "top_p": 0.5, "seed": 3, "stop": "\n",
          "stream": true, "stream_options": {"include_usage": true}, "n": 1, "user": "x"})");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "Hi!");
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_EQ(r.temperature, 0.0f);
  EXPECT_EQ(r.top_p, 0.5f);
  EXPECT_EQ(r.seed, 3u);
  EXPECT_EQ(r.stop, std::vector<std::string>{"\n"});
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  const auto c = server::ParseCompletionRequest(server::Endpoint::kCompletion,
                                                R"({"prompt": [[1, 2, 3]], "max_tokens": null})");
  EXPECT_TRUE(c.prompt_is_ids);
  EXPECT_EQ(c.prompt_ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_FALSE(c.max_tokens.has_value());
}

TEST(CompletionRequest, NamesTheFieldThatIsWrong) {
  using server::Endpoint;
  EXPECT_EQ(ParseError(Endpoint::kChat, R"({"messages": [], "x": 1})").param, "messages");
  EXPECT_EQ(
      ParseError(Endpoint::kChat, R"({"messages": [{"role": "robot", "content": ""}]})").param,
      "messages[0].role");
  EXPECT_EQ(ParseError(Endpoint::kCompletion, R"({"prompt": "a", "temperature": "hot"})").param,
            "temperature");
  EXPECT_EQ(ParseError(Endpoint::kCompletion, R"({"prompt": "a", "temperature": 2.5})").code,
            "invalid_value");
  EXPECT_EQ(ParseError(Endpoint::kCompletion, R"({"prompt": "a", "max_tokens": 0})").param,
            "max_tokens");
  EXPECT_EQ(
      ParseError(Endpoint::kCompletion, R"({"prompt": "a", "stop": ["1","2","3","4","5"]})").param,
      "stop");
  EXPECT_EQ(ParseError(Endpoint::kCompletion, R"({"prompt": ["a", "b"]})").param, "prompt");
  EXPECT_EQ(ParseError(Endpoint::kCompletion, R"({"prompt": "a", "n": 3})").param, "n");
  EXPECT_EQ(ParseError(Endpoint::kCompletion, R"({"prompt": "a", "stream": "yes"})").param,
            "stream");
  EXPECT_EQ(ParseError(Endpoint::kCompletion, "[1]").code, "invalid_json");
  EXPECT_EQ(ParseError(Endpoint::kCompletion, "{").code, "invalid_json");
}

// ---------------------------------------------------------------- test data and checks

// The OpenAI error shape: {"error": {"message": str, "type": str, "param": str|null, "code":
// str|null}}.
void ExpectErrorShape(const Reply& r) {
  ASSERT_TRUE(r.body.is_object()) << r.raw;
  ASSERT_TRUE(r.body.contains("error")) << r.raw;
  const json& e = r.body["error"];
  EXPECT_TRUE(e["message"].is_string() && !e["message"].get<std::string>().empty()) << r.raw;
  EXPECT_TRUE(e["type"].is_string()) << r.raw;
  EXPECT_TRUE(e.contains("param") && (e["param"].is_null() || e["param"].is_string())) << r.raw;
  EXPECT_TRUE(e.contains("code") && (e["code"].is_null() || e["code"].is_string())) << r.raw;
}

json ChatBody(const std::string& content, int max_tokens, bool stream = false) {
  return {{"model", "model"},
          {"messages", {{{"role", "user"}, {"content", content}}}},
          {"max_tokens", max_tokens},
          {"temperature", 0},
          {"stream", stream}};
}

// A request that would run for minutes: the tiny model with a context of 65536 and max_tokens
// near it (and no end-of-text), so it holds its slot until its client leaves.
json EndlessChat() {
  json body = ChatBody("Tell me everything.", 65000);
  body["ignore_eos"] = true;
  return body;
}

// ---------------------------------------------------------------- one server, many checks

class Serve : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"-m", TinyModel(), "--parallel", "4", "--queue", "16", "-c", "512",
                                 "--allow-long-context"});
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->Terminate(seconds(20)), 0) << server_->Log();
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_GT(server_->port(), 0) << server_->Log(); }
  static int port() { return server_->port(); }

  static ServerProcess* server_;
};
ServerProcess* Serve::server_ = nullptr;

TEST_F(Serve, HealthAndModels) {
  const json h = Health(port());
  EXPECT_EQ(h["status"], "ok");
  EXPECT_EQ(h["slots_total"], 4);
  EXPECT_EQ(h["slots_idle"], 4);
  const Reply m = Get(port(), "/v1/models");
  ASSERT_EQ(m.status, 200) << m.raw;
  EXPECT_EQ(m.body["object"], "list");
  ASSERT_EQ(m.body["data"].size(), 1u);
  const json& model = m.body["data"][0];
  EXPECT_EQ(model["id"], "model");  // the file's stem
  EXPECT_EQ(model["object"], "model");
  EXPECT_TRUE(model["created"].is_number_integer());
  EXPECT_TRUE(model["owned_by"].is_string());
}

TEST_F(Serve, ChatStreamAddsUpToTheWholeReply) {
  const auto now =
      std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const Reply whole = Post(port(), "/v1/chat/completions", ChatBody("Hello there", 24));
  ASSERT_EQ(whole.status, 200) << whole.raw;
  const json& w = whole.body;
  EXPECT_EQ(w["object"], "chat.completion");
  EXPECT_EQ(w["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_NEAR(w["created"].get<double>(), double(now), 60);
  EXPECT_EQ(w["model"], "model");
  ASSERT_EQ(w["choices"].size(), 1u);
  const json& choice = w["choices"][0];
  EXPECT_EQ(choice["index"], 0);
  EXPECT_EQ(choice["message"]["role"], "assistant");
  const std::string content = choice["message"]["content"];
  const std::string finish = choice["finish_reason"];
  EXPECT_TRUE(finish == "stop" || finish == "length") << finish;
  const json& usage = w["usage"];
  EXPECT_GT(usage["prompt_tokens"].get<int>(), 0);
  EXPECT_GE(usage["completion_tokens"].get<int>(), 1);
  EXPECT_LE(usage["completion_tokens"].get<int>(), 24);
  EXPECT_EQ(usage["total_tokens"],
            usage["prompt_tokens"].get<int>() + usage["completion_tokens"].get<int>());

  for (bool include_usage : {false, true}) {
    SCOPED_TRACE(include_usage ? "with usage" : "without usage");
    json body = ChatBody("Hello there", 24, /*stream=*/true);
    if (include_usage) body["stream_options"] = {{"include_usage", true}};
    const Reply streamed = PostStreaming(port(), "/v1/chat/completions", body);
    ASSERT_EQ(streamed.status, 200);
    const std::vector<std::string> data = testing::SseData(streamed.raw);
    ASSERT_GE(data.size(), 3u) << streamed.raw;
    EXPECT_EQ(data.back(), "[DONE]");
    std::vector<json> chunks = testing::Chunks(streamed.raw);
    if (include_usage) {
      const json last = chunks.back();
      chunks.pop_back();
      EXPECT_TRUE(last["choices"].empty());
      EXPECT_EQ(last["usage"], usage);
    }
    std::string joined;
    for (size_t i = 0; i < chunks.size(); ++i) {
      const json& c = chunks[i];
      EXPECT_EQ(c["object"], "chat.completion.chunk");
      EXPECT_EQ(c["id"], chunks[0]["id"]);
      EXPECT_EQ(c["model"], "model");
      EXPECT_EQ(c.contains("usage"), include_usage);
      const json& delta = c["choices"][0]["delta"];
      EXPECT_EQ(delta.contains("role"), i == 0) << c;  // the role comes first, once
      if (i == 0) {
        EXPECT_EQ(delta["role"], "assistant");
      }
      if (i + 1 < chunks.size()) {
        EXPECT_TRUE(c["choices"][0]["finish_reason"].is_null()) << c;
        joined += delta.value("content", "");
      } else {
        EXPECT_EQ(c["choices"][0]["finish_reason"], finish) << c;
        EXPECT_TRUE(delta.empty()) << c;
      }
    }
    EXPECT_EQ(joined, content);
  }
}

TEST_F(Serve, ChatPromptIsTheBitnetChatFormat) {
  const std::vector<ChatMessage> messages = {{"system", "Be brief."}, {"user", "Hi <|eot_id|>"}};
  json body = ChatBody("", 1);
  body["messages"] = json::array();
  for (const ChatMessage& m : messages)
    body["messages"].push_back({{"role", m.role}, {"content", m.content}});
  const Reply r = Post(port(), "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.raw;
  // Message contents are plain text: special-token text in them is not parsed.
  auto model = Model::Load(TinyModel());
  const auto expected = EncodeBitnetChat(model->tokenizer(), messages, /*add_bos=*/true,
                                         /*parse_special_in_content=*/false);
  EXPECT_EQ(r.body["usage"]["prompt_tokens"], expected.size());
}

TEST_F(Serve, CompletionsWholeAndStreamed) {
  json body = {{"prompt", "Once upon a time"}, {"max_tokens", 20}, {"temperature", 0}};
  const Reply whole = Post(port(), "/v1/completions", body);
  ASSERT_EQ(whole.status, 200) << whole.raw;
  EXPECT_EQ(whole.body["object"], "text_completion");
  EXPECT_EQ(whole.body["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  const json& choice = whole.body["choices"][0];
  const std::string text = choice["text"];
  EXPECT_TRUE(choice.contains("logprobs"));
  EXPECT_EQ(whole.body["usage"]["completion_tokens"].get<int>() +
                whole.body["usage"]["prompt_tokens"].get<int>(),
            whole.body["usage"]["total_tokens"].get<int>());

  body["stream"] = true;
  const Reply streamed = PostStreaming(port(), "/v1/completions", body);
  ASSERT_EQ(streamed.status, 200);
  EXPECT_EQ(testing::SseData(streamed.raw).back(), "[DONE]");
  const std::vector<json> chunks = testing::Chunks(streamed.raw);
  std::string joined;
  for (const json& c : chunks) {
    EXPECT_EQ(c["object"], "text_completion");
    joined += c["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(joined, text);
  EXPECT_EQ(chunks.back()["choices"][0]["finish_reason"], choice["finish_reason"]);

  // The default max_tokens of /v1/completions is 16; token ids are a prompt too.
  const Reply ids =
      Post(port(), "/v1/completions", {{"prompt", {504, 37, 81}}, {"temperature", 0}});
  ASSERT_EQ(ids.status, 200) << ids.raw;
  EXPECT_EQ(ids.body["usage"]["prompt_tokens"], 3);
  EXPECT_LE(ids.body["usage"]["completion_tokens"].get<int>(), 16);
}

// One sampler for `run` and the server: repeat_penalty and repeat_last_n over HTTP give the
// ids `bitjit run` gives with the same settings, prompt tokens counted in the window.
TEST_F(Serve, RepeatPenaltyActsAsInRun) {
  const std::vector<int32_t> prompt = {504, 37, 81, 37, 81, 37};
  std::vector<std::string> texts;
  for (double penalty : {1.0, 1.7}) {
    SCOPED_TRACE(penalty);
    const Reply r = Post(port(), "/v1/completions",
                         {{"prompt", prompt},
                          {"max_tokens", 24},
                          {"temperature", 0},
                          {"repeat_penalty", penalty},
                          {"repeat_last_n", 16},
                          {"ignore_eos", true}});
    ASSERT_EQ(r.status, 200) << r.raw;
    const testing::CliResult run =
        testing::RunCli({"run", "-m", TinyModel(), "--prompt-ids", "504,37,81,37,81,37", "-n", "24",
                         "--temp", "0", "--repeat-penalty", std::to_string(penalty),
                         "--repeat-last-n", "16", "--ignore-eos", "--json", "--quiet"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json ran = json::parse(run.out);
    texts.push_back(r.body["choices"][0]["text"].get<std::string>());
    EXPECT_EQ(texts.back(), ran["text"].get<std::string>());
  }
  EXPECT_NE(texts[0], texts[1]) << "the penalty changed nothing: this test would not see it";
  const Reply bad = Post(port(), "/v1/completions", {{"prompt", "x"}, {"repeat_penalty", 0}});
  EXPECT_EQ(bad.status, 400) << bad.raw;
}

// The same generation object over HTTP and in `run`: with sampling (a fixed seed), a repeat
// penalty and its window, the server's completion ids are run's ids and GenerationSession's,
// token for token; -1 as the window is the whole context on both (the fixture's -c 512).
TEST_F(Serve, SampledIdsWithARepeatPenaltyAreRunsIds) {
  const std::vector<int32_t> prompt = {504, 37, 81, 37, 81, 37, 81, 37};
  constexpr int kTokens = 32;
  auto model = Model::Load(TinyModel());
  std::map<std::string, std::vector<int32_t>> served;
  for (const auto& [penalty, window] :
       std::vector<std::pair<double, int>>{{1.0, 2}, {1.5, 2}, {1.5, -1}}) {
    const std::string name = std::to_string(penalty) + "/" + std::to_string(window);
    SCOPED_TRACE(name);
    const Reply r = Post(port(), "/completion",
                         {{"prompt", prompt},
                          {"n_predict", kTokens},
                          {"temperature", 0.6},
                          {"top_k", 40},
                          {"top_p", 0.95},
                          {"min_p", 0.05},
                          {"seed", 7},
                          {"repeat_penalty", penalty},
                          {"repeat_last_n", window},
                          {"ignore_eos", true}});
    ASSERT_EQ(r.status, 200) << r.raw;
    served[name] = r.body["tokens"].get<std::vector<int32_t>>();
    ASSERT_EQ(served[name].size(), static_cast<size_t>(kTokens));

    std::vector<std::string> args = {"run",          "-m",
                                     TinyModel(),    "-c",
                                     "512",          "--allow-long-context",
                                     "--prompt-ids", "504,37,81,37,81,37,81,37",
                                     "--ignore-eos", "--json",
                                     "--quiet"};
    for (const std::string& flag :
         {"-n=" + std::to_string(kTokens), std::string("--temp=0.6"), std::string("--top-k=40"),
          std::string("--top-p=0.95"), std::string("--min-p=0.05"), std::string("--seed=7"),
          "--repeat-penalty=" + std::to_string(penalty),
          "--repeat-last-n=" + std::to_string(window)}) {
      args.push_back(flag);
    }
    const testing::CliResult run = testing::RunCli(args);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(json::parse(run.out)["ids"].get<std::vector<int32_t>>(), served[name]);

    GenerationSession session(*model, 512);
    GenerateParams p;
    p.n_predict = kTokens;
    p.ignore_eos = true;
    p.sampler = {0.6f, 40, 0.95f, 0.05f, static_cast<float>(penalty), 0, 0, window, 7};
    EXPECT_EQ(session.Generate(prompt, p, {}).ids, served[name]);
  }
  // Otherwise the comparisons above could not see a penalty or a window that is ignored.
  EXPECT_NE(served["1.000000/2"], served["1.500000/2"]);
  EXPECT_NE(served["1.500000/2"], served["1.500000/-1"]);
}

TEST_F(Serve, StopStringsCutTheReplyStreamedOrNot) {
  json body = {{"prompt", "The capital of France is"},
               {"max_tokens", 40},
               {"temperature", 0},
               {"ignore_eos", true}};
  const std::string free_text = Post(port(), "/v1/completions", body).body["choices"][0]["text"];
  // A stop string from the second half of the free reply: two ASCII characters.
  std::string stop;
  for (size_t i = free_text.size() / 2; i + 1 < free_text.size() && stop.empty(); ++i) {
    if (std::isalpha(static_cast<unsigned char>(free_text[i])) &&
        std::isalpha(static_cast<unsigned char>(free_text[i + 1]))) {
      stop = free_text.substr(i, 2);
    }
  }
  ASSERT_FALSE(stop.empty()) << free_text;
  const std::string expected = free_text.substr(0, free_text.find(stop));
  body["stop"] = {"never-appears", stop};
  const Reply cut = Post(port(), "/v1/completions", body);
  EXPECT_EQ(cut.body["choices"][0]["text"], expected);
  EXPECT_EQ(cut.body["choices"][0]["finish_reason"], "stop");
  body["stream"] = true;
  std::string joined;
  for (const json& c : testing::Chunks(PostStreaming(port(), "/v1/completions", body).raw)) {
    joined += c["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(joined, expected);
}

TEST_F(Serve, BadRequestsGetOpenAiErrorsAndTheServerGoesOn) {
  struct Case {
    const char* what;
    std::string path, body;
    int status;
    const char* param;  // nullptr: not checked
    const char* code;
  };
  std::string long_prompt;
  for (int i = 0; i < 600; ++i) long_prompt += "a b ";
  const std::vector<Case> cases = {
      {"invalid JSON", "/v1/chat/completions", "{\"messages\": [", 400, nullptr, "invalid_json"},
      {"not an object", "/v1/completions", "[1, 2]", 400, nullptr, "invalid_json"},
      {"missing messages", "/v1/chat/completions", R"({"model": "model"})", 400, "messages",
       nullptr},
      {"missing prompt", "/v1/completions", R"({"max_tokens": 3})", 400, "prompt", nullptr},
      {"messages of a wrong type", "/v1/chat/completions", R"({"messages": "hi"})", 400, "messages",
       "invalid_type"},
      {"temperature of a wrong type", "/v1/chat/completions",
       R"({"messages": [{"role": "user", "content": "hi"}], "temperature": "warm"})", 400,
       "temperature", "invalid_type"},
      {"max_tokens of a wrong type", "/v1/completions", R"({"prompt": "a", "max_tokens": 2.5})",
       400, "max_tokens", nullptr},
      {"stop of a wrong type", "/v1/completions", R"({"prompt": "a", "stop": 5})", 400, "stop",
       nullptr},
      {"n > 1", "/v1/chat/completions",
       R"({"messages": [{"role": "user", "content": "hi"}], "n": 2})", 400, "n", nullptr},
      {"prompt longer than the context", "/v1/completions",
       json{{"prompt", long_prompt}, {"max_tokens", 1}}.dump(), 400, "prompt",
       "context_length_exceeded"},
      {"max_tokens beyond the context", "/v1/chat/completions",
       R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 100000})", 400,
       "max_tokens", "context_length_exceeded"},
      {"token id outside the vocabulary", "/v1/completions", R"({"prompt": [1, 99999]})", 400,
       "prompt", nullptr},
      {"unknown URL", "/v1/embeddings", R"({"input": "x"})", 404, nullptr, "unknown_url"},
      {"body over 1 MiB", "/v1/completions",
       json{{"prompt", std::string(size_t{1} << 20, 'a')}}.dump(), 413, nullptr, nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const Reply r = Send(port(), "POST", c.path, c.body);
    EXPECT_EQ(r.status, c.status) << r.raw;
    ExpectErrorShape(r);
    if (!r.body.is_object()) continue;
    if (c.param) {
      EXPECT_EQ(r.body["error"]["param"], c.param) << r.raw;
    }
    if (c.code) {
      EXPECT_EQ(r.body["error"]["code"], c.code) << r.raw;
    }
  }
  // Still serving, and every slot is free.
  EXPECT_EQ(Post(port(), "/v1/chat/completions", ChatBody("still there?", 4)).status, 200);
  EXPECT_EQ(Health(port())["slots_idle"], 4);
}

// Tokens per second over all clients: `clients` threads share `prompts` (each takes every
// clients-th one) and stream their replies; outputs[i] gets prompt i's text.
double RunClients(int port, const std::vector<std::string>& prompts, int clients, int max_tokens,
                  std::vector<std::string>* outputs) {
  outputs->assign(prompts.size(), "");
  std::atomic<int> tokens{0};
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < prompts.size();
           i += static_cast<size_t>(clients)) {
        json body = ChatBody(prompts[i], max_tokens, /*stream=*/true);
        body["ignore_eos"] = true;  // every reply is max_tokens long: comparable rates
        body["stream_options"] = {{"include_usage", true}};
        const Reply r = PostStreaming(port, "/v1/chat/completions", body);
        const std::vector<json> chunks = testing::Chunks(r.raw);
        if (r.status != 200 || chunks.empty()) {
          (*outputs)[i] = "<failed: " + std::to_string(r.status) + " " + r.raw.substr(0, 200) + ">";
          continue;
        }
        for (const json& c : chunks) {
          if (!c["choices"].empty()) (*outputs)[i] += c["choices"][0]["delta"].value("content", "");
        }
        tokens += chunks.back()["usage"]["completion_tokens"].get<int>();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return tokens / took.count();
}

TEST_F(Serve, SixteenConcurrentStreamsEqualSolitaryRuns) {
  std::vector<std::string> prompts;
  for (int i = 0; i < 16; ++i) prompts.push_back("Story " + std::to_string(i) + ": once there was");
  constexpr int kMaxTokens = 96;
  std::vector<std::string> alone, four, sixteen;
  const double rate1 = RunClients(port(), prompts, 1, kMaxTokens, &alone);
  const double rate4 = RunClients(port(), prompts, 4, kMaxTokens, &four);
  const double rate16 = RunClients(port(), prompts, 16, kMaxTokens, &sixteen);
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(alone[i].rfind("<failed", 0), std::string::npos) << alone[i];
    EXPECT_EQ(four[i], alone[i]) << "prompt " << i;
    EXPECT_EQ(sixteen[i], alone[i]) << "prompt " << i;
  }
  // Every slot is free again and nothing waits: no slot leaked.
  const json h = Health(port());
  EXPECT_EQ(h["slots_idle"], 4) << h;
  EXPECT_EQ(h["requests_waiting"], 0) << h;
  std::printf(
      "[ throughput ] tiny model, --parallel 4, %d tokens per reply: 1 client %.0f tok/s, "
      "4 clients %.0f tok/s, 16 clients %.0f tok/s\n",
      kMaxTokens, rate1, rate4, rate16);
}

TEST_F(Serve, OfficialOpenAiNodeClient) {
  // The client comes from `npm install --prefix tests/server` (scripts/setup.sh). A missing
  // node or client fails this test.
  const std::filesystem::path script =
      // An absolute path: __FILE__ is relative to the build directory, not to ctest's.
      std::filesystem::path(BITJIT_TESTS_DIR) / "server" / "openai_client_test.mjs";
  testing::TempDir dir;
  const std::string out = dir.File("out");
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    const std::string url = server_->url() + "/v1";
    execlp("node", "node", script.c_str(), url.c_str(), static_cast<char*>(nullptr));
    std::fprintf(stderr, "cannot run node (%s): install Node.js and run scripts/setup.sh\n",
                 std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(out);
  const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_NE(output.find("all checks passed"), std::string::npos) << output;
}

// ---------------------------------------------------------------- servers of their own

TEST(ServeQueue, FullQueueGets503AndTheServerGoesOn) {
  ServerProcess server({"-m", TinyModel(), "--parallel", "1", "--queue", "1", "-c", "65536",
                        "--allow-long-context"});
  ASSERT_GT(server.port(), 0) << server.Log();
  HeldStream running(server.port(), EndlessChat());
  ASSERT_TRUE(running.WaitForEvents(2, seconds(30))) << server.Log();
  HeldStream waiting(server.port(), EndlessChat());
  ASSERT_TRUE(waiting.WaitForEvents(1, seconds(30))) << server.Log();
  const json h = Health(server.port());
  EXPECT_EQ(h["slots_busy"], 1) << h;
  EXPECT_EQ(h["requests_waiting"], 1) << h;

  const Reply refused = Post(server.port(), "/v1/chat/completions", ChatBody("me too", 4));
  EXPECT_EQ(refused.status, 503) << refused.raw;
  ExpectErrorShape(refused);
  EXPECT_EQ(refused.body["error"]["type"], "server_error");

  running.Close();
  waiting.Close();
  EXPECT_TRUE(WaitForHealth(
      server.port(),
      [](const json& h) { return h["slots_idle"] == 1 && h["requests_waiting"] == 0; },
      seconds(20)))
      << Health(server.port());
  EXPECT_EQ(Post(server.port(), "/v1/chat/completions", ChatBody("now?", 4)).status, 200);
  EXPECT_EQ(server.Terminate(seconds(20)), 0) << server.Log();
}

TEST(ServeQueue, ClientThatLeavesFreesItsSlot) {
  ServerProcess server({"-m", TinyModel(), "--parallel", "1", "--queue", "1", "-c", "65536",
                        "--allow-long-context"});
  ASSERT_GT(server.port(), 0) << server.Log();
  const auto slot_free = [](const json& h) { return h["slots_idle"] == 1; };

  // A streamed reply: the server notices when its writes fail or the peer hangs up.
  HeldStream stream(server.port(), EndlessChat());
  ASSERT_TRUE(stream.WaitForEvents(2, seconds(30))) << server.Log();
  EXPECT_EQ(Health(server.port())["slots_busy"], 1);
  stream.Close();
  // Left alone the request would run for minutes; the slot must come back at once.
  EXPECT_TRUE(WaitForHealth(server.port(), slot_free, seconds(10))) << Health(server.port());
  EXPECT_EQ(Post(server.port(), "/v1/chat/completions", ChatBody("next", 4)).status, 200);

  // A reply that is not streamed: nothing is written until the end, so only the probe of the
  // connection can notice.
  httplib::Client cli("127.0.0.1", server.port());
  cli.set_read_timeout(seconds(120));
  std::thread waiter(
      [&] { cli.Post("/v1/chat/completions", EndlessChat().dump(), "application/json"); });
  EXPECT_TRUE(WaitForHealth(
      server.port(), [](const json& h) { return h["slots_busy"] == 1; }, seconds(10)));
  cli.stop();  // closes the socket under the waiting Post
  waiter.join();
  EXPECT_TRUE(WaitForHealth(server.port(), slot_free, seconds(10))) << Health(server.port());
  EXPECT_EQ(Post(server.port(), "/v1/chat/completions", ChatBody("next", 4)).status, 200);

  EXPECT_EQ(server.Terminate(seconds(20)), 0) << server.Log();
  EXPECT_NE(server.Log().find("finish=client_gone"), std::string::npos) << server.Log();
}

// A request still running when the drain's --timeout is over is ended (server_shutting_down);
// tests/server_serving_test.cc has the drain that lets a stream finish.
TEST(ServeLifecycle, SigtermEndsRequestsAndExitsCleanly) {
  ServerProcess server({"-m", TinyModel(), "--parallel", "1", "-c", "65536", "--allow-long-context",
                        "--timeout", "1"});
  ASSERT_GT(server.port(), 0) << server.Log();
  HeldStream stream(server.port(), EndlessChat());
  ASSERT_TRUE(stream.WaitForEvents(2, seconds(30))) << server.Log();
  EXPECT_EQ(server.Terminate(seconds(20)), 0) << server.Log();
  // The stream was ended by the server: an error event and [DONE], or a closed connection.
  const Reply& r = stream.Close();
  const std::vector<std::string> data = testing::SseData(r.raw);
  if (!data.empty() && data.back() == "[DONE]") {
    EXPECT_NE(r.raw.find("server_shutting_down"), std::string::npos)
        << r.raw.substr(r.raw.size() - 500);
  }
  EXPECT_NE(server.Log().find("shutting down"), std::string::npos) << server.Log();
}

TEST(ServeLifecycle, ServesACompiledPlanLikeItsModel) {
  testing::TempDir dir;
  const std::string plan = dir.File("tiny.plan");
  const auto compiled = testing::RunCli({"compile", "-m", TinyModel(), "-o", plan});
  ASSERT_EQ(compiled.exit_code, 0) << compiled.err;
  ServerProcess from_model({"-m", TinyModel(), "--parallel", "1"});
  ServerProcess from_plan({"--plan", plan, "--parallel", "1"});
  ASSERT_GT(from_model.port(), 0) << from_model.Log();
  ASSERT_GT(from_plan.port(), 0) << from_plan.Log();
  EXPECT_EQ(Get(from_plan.port(), "/v1/models").body["data"][0]["id"], "tiny");
  json body = ChatBody("Hi", 16);
  body.erase("model");
  const Reply a = Post(from_model.port(), "/v1/chat/completions", body);
  const Reply b = Post(from_plan.port(), "/v1/chat/completions", body);
  ASSERT_EQ(b.status, 200) << b.raw;
  EXPECT_EQ(b.body["choices"][0]["message"], a.body["choices"][0]["message"]);
}

TEST(ServeLifecycle, BadFlagsAreRefused) {
  const auto r = testing::RunCli({"serve", "-m", TinyModel(), "--parallel", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--parallel"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace bitjit
