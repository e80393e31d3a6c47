// `bitjit serve` speaking the API clients send: any model name, content parts, logprobs equal to
// the log-softmax of the model's own logits (computed here with the runtime's BatchEngine),
// presence/frequency penalties as the runtime's Sampler applies them, refused fields named in
// a 400; and llama-server's own routes in its shapes (/completion whole and streamed, /tokenize,
// /detokenize, /props, /slots, /health, /metrics with --metrics) and API keys (--api-key,
// --api-key-file). All over HTTP against the real binary and the synthetic tiny model.
#include <gtest/gtest.h>

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "frontend/tokenizer/chat_format.h"
#include "runtime/batch_engine.h"
#include "runtime/generation/valid_utf8.h"
#include "runtime/model.h"
#include "runtime/sampler.h"
#include "tests/server/http_client.h"
#include "tests/server/server_process.h"
#include "tests/server/sse.h"
#include "tests/testing/cli.h"
#include "tools/server/llama_routes.h"

namespace bitjit {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using testing::Get;
using testing::HeldStream;
using testing::Post;
using testing::PostStreaming;
using testing::Reply;
using testing::ServerProcess;

// The model file's stem: the id /v1/models lists by default.
std::string ModelStem() {
  const std::string& path = testing::SynthTinyModel();
  const size_t slash = path.find_last_of('/');
  std::string name = path.substr(slash == std::string::npos ? 0 : slash + 1);
  return name.substr(0, name.rfind('.'));
}

// A request with headers of its own (Authorization, Origin).
Reply SendWith(int port, const std::string& method, const std::string& path,
               const std::string& body, const httplib::Headers& headers) {
  return testing::Send(port, method, path, body, seconds(60), headers);
}

// The model's logits, as the runtime computes them: one slot, the prompt, then each token.
class Reference {
 public:
  Reference() : model_(Model::Load(testing::SynthTinyModel())), engine_(*model_, 1, 512) {}
  const Tokenizer& tokenizer() const { return model_->tokenizer(); }
  void Start(const std::vector<int32_t>& prompt) {
    if (slot_ >= 0) engine_.ReleaseSlot(slot_);
    slot_ = engine_.AcquireSlot();
    Feed(prompt);
  }
  void Feed(const std::vector<int32_t>& tokens) {
    const BatchEngine::Work work[] = {{slot_, tokens}};
    std::vector<std::vector<float>> logits;
    engine_.Step(work, &logits);
    logits_ = logits.at(0);
  }
  const std::vector<float>& logits() const { return logits_; }
  std::vector<double> LogSoftmax() const {
    const double max = *std::max_element(logits_.begin(), logits_.end());
    double sum = 0;
    for (float l : logits_) sum += std::exp(l - max);
    std::vector<double> out;
    for (float l : logits_) out.push_back(l - max - std::log(sum));
    return out;
  }
  // Generates `n` tokens with `params`, as the server's scheduler does (prompt in the window).
  std::vector<int32_t> Generate(const std::vector<int32_t>& prompt, int n, SamplerParams params) {
    Sampler sampler(params);
    sampler.Remember(prompt);
    Start(prompt);
    std::vector<int32_t> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(sampler.Sample(logits_));
      if (i + 1 < n) Feed({out.back()});
    }
    return out;
  }

 private:
  std::unique_ptr<Model> model_;
  BatchEngine engine_;
  int slot_ = -1;
  std::vector<float> logits_;
};

// A token's bytes, and its text as JSON replies carry it (bytes that are no UTF-8 replaced).
std::string Piece(const Tokenizer& tok, int32_t id) {
  const int32_t ids[] = {id};
  return tok.Decode(ids);
}
std::string Text(const Tokenizer& tok, int32_t id) {
  return ValidUtf8(Piece(tok, id));
}
json Bytes(const std::string& piece) {
  json bytes = json::array();
  for (unsigned char c : piece) bytes.push_back(int(c));
  return bytes;
}

class LlamaApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"-m", testing::SynthTinyModel(), "--parallel", "2", "-c", "512",
                                 "--metrics", "--allow-long-context"});
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
ServerProcess* LlamaApi::server_ = nullptr;

json Chat(const std::string& model, const json& content, int max_tokens) {
  return {{"model", model},
          {"messages", {{{"role", "user"}, {"content", content}}}},
          {"max_tokens", max_tokens},
          {"temperature", 0}};
}

// ---------------------------------------------------------------- OpenAI's API as sent

TEST_F(LlamaApi, AnyModelNameIsServedAndRepliesCarryTheServedId) {
  const Reply a = Post(port(), "/v1/chat/completions", Chat("gpt-3.5-turbo", "Hi", 6));
  ASSERT_EQ(a.status, 200) << a.raw;
  EXPECT_EQ(a.body["model"], ModelStem());
  const Reply b = Post(port(), "/v1/chat/completions", Chat(ModelStem(), "Hi", 6));
  ASSERT_EQ(b.status, 200) << b.raw;
  EXPECT_EQ(a.body["choices"][0]["message"], b.body["choices"][0]["message"]);
  EXPECT_EQ(Get(port(), "/v1/models").body["data"][0]["id"], ModelStem());
}

TEST(LlamaApiAlias, AliasNamesTheModel) {
  ServerProcess server({"-m", testing::SynthTinyModel(), "--parallel", "1", "-a", "bitnet-x"});
  ASSERT_GT(server.port(), 0) << server.Log();
  EXPECT_EQ(Get(server.port(), "/v1/models").body["data"][0]["id"], "bitnet-x");
  const Reply r = Post(server.port(), "/v1/completions",
                       {{"model", "text-davinci-003"}, {"prompt", "Hi"}, {"max_tokens", 2}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["model"], "bitnet-x");
}

TEST_F(LlamaApi, ContentPartsAreTextAndOtherPartsAreRefusedByName) {
  const Reply parts = Post(port(), "/v1/chat/completions",
                           Chat("m",
                                json::array({{{"type", "text"}, {"text", "Hello "}},
                                             {{"type", "text"}, {"text", "there"}}}),
                                8));
  const Reply plain = Post(port(), "/v1/chat/completions", Chat("m", "Hello there", 8));
  ASSERT_EQ(parts.status, 200) << parts.raw;
  EXPECT_EQ(parts.body["choices"][0]["message"]["content"],
            plain.body["choices"][0]["message"]["content"]);
  EXPECT_EQ(parts.body["usage"], plain.body["usage"]);
  const Reply image =
      Post(port(), "/v1/chat/completions",
           Chat("m",
                json::array({{{"type", "text"}, {"text", "What is this?"}},
                             {{"type", "image_url"}, {"image_url", {{"url", "http://x/y.png"}}}}}),
                8));
  EXPECT_EQ(image.status, 400) << image.raw;
  EXPECT_EQ(image.body["error"]["param"], "messages[0].content[1].type") << image.raw;
  EXPECT_NE(image.body["error"]["message"].get<std::string>().find("image_url"), std::string::npos);
}

TEST_F(LlamaApi, FieldsNotImplementedAreRefusedNamingTheField) {
  const json tool = {{"type", "function"},
                     {"function", {{"name", "f"}, {"parameters", json::object()}}}};
  const std::vector<std::pair<std::string, json>> cases = {
      {"tools", json::array({tool})},
      {"tool_choice", "auto"},
      {"functions", json::array({tool["function"]})},
      {"function_call", "auto"},
      {"response_format", {{"type", "json_object"}}},
      {"n", 2},
      {"logit_bias", {{"42", 5}}},
      {"audio", {{"voice", "alloy"}}},
  };
  for (const auto& [field, value] : cases) {
    SCOPED_TRACE(field);
    json body = Chat("m", "Hi", 2);
    body[field] = value;
    const Reply r = Post(port(), "/v1/chat/completions", body);
    EXPECT_EQ(r.status, 400) << r.raw;
    EXPECT_EQ(r.body["error"]["param"], field) << r.raw;
    EXPECT_EQ(r.body["error"]["type"], "invalid_request_error") << r.raw;
  }
  const Reply suffix =
      Post(port(), "/v1/completions", {{"prompt", "a"}, {"suffix", "b"}, {"max_tokens", 1}});
  EXPECT_EQ(suffix.status, 400) << suffix.raw;
  EXPECT_EQ(suffix.body["error"]["param"], "suffix");
  const Reply grammar = Post(port(), "/completion", {{"prompt", "a"}, {"grammar", "root ::= x"}});
  EXPECT_EQ(grammar.status, 400) << grammar.raw;
  EXPECT_EQ(grammar.body["error"]["param"], "grammar");
  // What changes nothing is accepted: text format, no tools, n = 1.
  json fine = Chat("m", "Hi", 2);
  fine["response_format"] = {{"type", "text"}};
  fine["tools"] = json::array();
  fine["tool_choice"] = "none";
  fine["n"] = 1;
  fine["user"] = "someone";
  EXPECT_EQ(Post(port(), "/v1/chat/completions", fine).status, 200);
}

TEST_F(LlamaApi, StopIsAStringOrAList) {
  json body = {
      {"prompt", {504, 37, 81}}, {"max_tokens", 24}, {"temperature", 0}, {"ignore_eos", true}};
  const std::string free_text = Post(port(), "/v1/completions", body).body["choices"][0]["text"];
  ASSERT_GE(free_text.size(), 6u) << free_text;
  // A stop string taken from the middle of the free reply: the reply ends before it.
  const std::string stop = free_text.substr(free_text.size() / 2, 2);
  const std::string expected = free_text.substr(0, free_text.find(stop));
  for (const json& s : {json(stop), json::array({"never-there", stop})}) {
    SCOPED_TRACE(s.dump());
    body["stop"] = s;
    const Reply r = Post(port(), "/v1/completions", body);
    EXPECT_EQ(r.body["choices"][0]["text"], expected) << r.raw;
    EXPECT_EQ(r.body["choices"][0]["finish_reason"], "stop");
    const Reply l = Post(port(), "/completion",
                         {{"prompt", body["prompt"]},
                          {"n_predict", 24},
                          {"temperature", 0},
                          {"ignore_eos", true},
                          {"stop", s}});
    EXPECT_EQ(l.body["content"], expected) << l.raw;
    EXPECT_EQ(l.body["stop_type"], "word") << l.raw;
  }
}

// The reference computes what the server must report: the log-softmax of the logits at each
// position, the sampled (greedy) token's and the top ones'.
void ExpectTopMatches(const json& top, const std::vector<double>& ref, const Tokenizer& tok,
                      size_t k, const char* id_key) {
  ASSERT_EQ(top.size(), k) << top;
  std::vector<int32_t> order(ref.size());
  for (size_t i = 0; i < ref.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return ref[a] > ref[b]; });
  for (size_t j = 0; j < k; ++j) {
    EXPECT_NEAR(top[j]["logprob"].get<double>(), ref[order[j]], 1e-4) << j;
    if (id_key) {
      EXPECT_EQ(top[j][id_key], order[j]) << j;
    } else {
      EXPECT_EQ(top[j]["token"], Text(tok, order[j])) << j;
    }
  }
}

TEST_F(LlamaApi, LogprobsAreTheLogSoftmaxOfTheModelsLogits) {
  Reference ref;
  const Tokenizer& tok = ref.tokenizer();
  constexpr int kTokens = 8;

  // Chat: logprobs + top_logprobs.
  const std::vector<ChatMessage> messages = {{"user", "Tell me a story."}};
  const std::vector<int32_t> prompt = EncodeBitnetChat(tok, messages, true, false);
  json chat = Chat("gpt-3.5-turbo", "Tell me a story.", kTokens);
  chat["ignore_eos"] = true;
  chat["logprobs"] = true;
  chat["top_logprobs"] = 3;
  const Reply c = Post(port(), "/v1/chat/completions", chat);
  ASSERT_EQ(c.status, 200) << c.raw;
  const json& content = c.body["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), size_t(kTokens)) << c.raw;
  ref.Start(prompt);
  std::string joined;
  for (int i = 0; i < kTokens; ++i) {
    SCOPED_TRACE("chat token " + std::to_string(i));
    const std::vector<double> lp = ref.LogSoftmax();
    const int32_t id = Sampler::Greedy(ref.logits());
    EXPECT_EQ(content[i]["token"], Text(tok, id));
    EXPECT_NEAR(content[i]["logprob"].get<double>(), lp[id], 1e-4);
    const std::string piece = Piece(tok, id);
    EXPECT_EQ(content[i]["bytes"], Bytes(piece));
    ExpectTopMatches(content[i]["top_logprobs"], lp, tok, 3, nullptr);
    joined += piece;
    ref.Feed({id});
  }
  EXPECT_EQ(c.body["choices"][0]["message"]["content"], ValidUtf8(joined));

  // Legacy completions: logprobs = 2; and /completion: n_probs = 2, with ids.
  const std::vector<int32_t> ids = {504, 37, 81, 9, 77};
  const Reply legacy = Post(port(), "/v1/completions",
                            {{"model", "gpt-3.5-turbo-instruct"},
                             {"prompt", ids},
                             {"max_tokens", kTokens},
                             {"temperature", 0},
                             {"ignore_eos", true},
                             {"logprobs", 2}});
  const Reply llama = Post(port(), "/completion",
                           {{"prompt", ids},
                            {"n_predict", kTokens},
                            {"temperature", 0},
                            {"ignore_eos", true},
                            {"n_probs", 2}});
  ASSERT_EQ(legacy.status, 200) << legacy.raw;
  ASSERT_EQ(llama.status, 200) << llama.raw;
  const json& lg = legacy.body["choices"][0]["logprobs"];
  const json& probs = llama.body["completion_probabilities"];
  ASSERT_EQ(lg["tokens"].size(), size_t(kTokens)) << legacy.raw;
  ASSERT_EQ(probs.size(), size_t(kTokens)) << llama.raw;
  ref.Start(ids);
  size_t offset = 0;
  for (int i = 0; i < kTokens; ++i) {
    SCOPED_TRACE("completion token " + std::to_string(i));
    const std::vector<double> lp = ref.LogSoftmax();
    const int32_t id = Sampler::Greedy(ref.logits());
    EXPECT_EQ(lg["tokens"][i], Text(tok, id));
    EXPECT_NEAR(lg["token_logprobs"][i].get<double>(), lp[id], 1e-4);
    EXPECT_EQ(lg["text_offset"][i], offset);
    ASSERT_EQ(lg["top_logprobs"][i].size(), 2u);  // {piece: logprob}
    offset += Piece(tok, id).size();
    EXPECT_EQ(probs[i]["id"], id);
    EXPECT_EQ(llama.body["tokens"][i], id);
    EXPECT_NEAR(probs[i]["logprob"].get<double>(), lp[id], 1e-4);
    ExpectTopMatches(probs[i]["top_logprobs"], lp, tok, 2, "id");
    ref.Feed({id});
  }

  // Streamed, the chunks' logprobs add up to the whole reply's.
  chat["stream"] = true;
  json streamed = json::array();
  for (const json& chunk :
       testing::Chunks(PostStreaming(port(), "/v1/chat/completions", chat).raw)) {
    const json& l = chunk["choices"][0]["logprobs"];
    if (l.is_object()) {
      for (const json& e : l["content"]) streamed.push_back(e);
    }
  }
  EXPECT_EQ(streamed, content);
  // Without the fields there are none.
  EXPECT_TRUE(Post(port(), "/v1/chat/completions", Chat("m", "Hi", 2))
                  .body["choices"][0]["logprobs"]
                  .is_null());
}

TEST_F(LlamaApi, PresenceAndFrequencyPenaltiesActAsTheRuntimeSampler) {
  Reference ref;
  // A prompt that repeats itself, and a greedy reply of 32 tokens.
  const std::vector<int32_t> prompt = {504, 37, 81, 37, 81, 37, 81, 37};
  constexpr int kTokens = 32;
  std::map<std::string, size_t> distinct;
  for (const auto& [name, presence, frequency] :
       std::vector<std::tuple<std::string, double, double>>{
           {"none", 0, 0}, {"presence", 1.5, 0}, {"frequency", 0, 1.0}, {"negative", -2, 0}}) {
    SCOPED_TRACE(name);
    const Reply r = Post(port(), "/completion",
                         {{"prompt", prompt},
                          {"n_predict", kTokens},
                          {"temperature", 0},
                          {"ignore_eos", true},
                          {"presence_penalty", presence},
                          {"frequency_penalty", frequency},
                          {"repeat_last_n", 64}});
    ASSERT_EQ(r.status, 200) << r.raw;
    SamplerParams p;
    p.temperature = 0;
    p.repeat_penalty = 1.0f;
    p.presence_penalty = static_cast<float>(presence);
    p.frequency_penalty = static_cast<float>(frequency);
    p.repeat_last_n = 64;
    const std::vector<int32_t> expected = ref.Generate(prompt, kTokens, p);
    EXPECT_EQ(r.body["tokens"].get<std::vector<int32_t>>(), expected);
    const std::vector<int32_t> got = r.body["tokens"].get<std::vector<int32_t>>();
    distinct[name] = std::set<int32_t>(got.begin(), got.end()).size();
    // The OpenAI route takes the same fields.
    const Reply o = Post(port(), "/v1/completions",
                         {{"prompt", prompt},
                          {"max_tokens", kTokens},
                          {"temperature", 0},
                          {"ignore_eos", true},
                          {"presence_penalty", presence},
                          {"frequency_penalty", frequency}});
    EXPECT_EQ(o.body["choices"][0]["text"], r.body["content"]);
  }
  // Penalizing what was seen spreads the reply over more tokens; a negative penalty narrows it.
  EXPECT_GT(distinct["presence"], distinct["none"]);
  EXPECT_GT(distinct["frequency"], distinct["none"]);
  EXPECT_LE(distinct["negative"], distinct["none"]);
  const Reply bad = Post(port(), "/v1/completions", {{"prompt", "a"}, {"presence_penalty", 3}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["error"]["param"], "presence_penalty");
}

// ---------------------------------------------------------------- llama-server's routes

TEST_F(LlamaApi, CompletionAtTemperatureZeroIsTheOpenAiCompletion) {
  const std::string prompt = "Once upon a time";
  const Reply openai =
      Post(port(), "/v1/completions", {{"prompt", prompt}, {"max_tokens", 20}, {"temperature", 0}});
  ASSERT_EQ(openai.status, 200) << openai.raw;
  const Reply r = Post(port(), "/completion",
                       {{"prompt", prompt},
                        {"n_predict", 20},
                        {"temperature", 0},
                        {"cache_prompt", true},
                        {"seed", 1}});
  ASSERT_EQ(r.status, 200) << r.raw;
  const json& b = r.body;
  EXPECT_EQ(b["content"], openai.body["choices"][0]["text"]);
  EXPECT_EQ(b["stop"], true);
  EXPECT_EQ(b["tokens_evaluated"], openai.body["usage"]["prompt_tokens"]);
  EXPECT_EQ(b["tokens_predicted"], openai.body["usage"]["completion_tokens"]);
  EXPECT_EQ(b["tokens"].size(), b["tokens_predicted"].get<size_t>());
  const std::string stop_type = b["stop_type"];
  EXPECT_EQ(stop_type, openai.body["choices"][0]["finish_reason"] == "length" ? "limit" : "eos");
  const json& t = b["timings"];
  for (const char* key :
       {"prompt_n", "prompt_ms", "prompt_per_token_ms", "prompt_per_second", "predicted_n",
        "predicted_ms", "predicted_per_token_ms", "predicted_per_second"}) {
    EXPECT_TRUE(t.contains(key) && t[key].is_number()) << key << " " << t;
  }
  EXPECT_EQ(t["prompt_n"], b["tokens_evaluated"]);
  EXPECT_EQ(t["predicted_n"], b["tokens_predicted"]);
  EXPECT_GT(t["prompt_ms"].get<double>(), 0);
  EXPECT_GT(t["predicted_per_second"].get<double>(), 0);
  EXPECT_EQ(b["generation_settings"]["temperature"], 0.0);
  EXPECT_EQ(b["generation_settings"]["n_predict"], 20);
  // Token ids are a prompt too; n_predict -1 runs to the end of text or of the context.
  const Reply ids =
      Post(port(), "/completion",
           {{"prompt", {504, 37, 81}}, {"n_predict", 4}, {"temperature", 0}, {"ignore_eos", true}});
  EXPECT_EQ(ids.body["tokens_evaluated"], 3) << ids.raw;
  EXPECT_EQ(ids.body["tokens_predicted"], 4) << ids.raw;
  EXPECT_EQ(ids.body["stop_type"], "limit");
  const Reply all = Post(
      port(), "/completion",
      {{"prompt", {504, 37, 81}}, {"n_predict", -1}, {"ignore_eos", true}, {"temperature", 0}});
  EXPECT_EQ(all.body["tokens_predicted"], 512 - 3) << all.raw.substr(0, 300);
}

TEST_F(LlamaApi, CompletionStreamsAsLlamaServerDoes) {
  const json body = {
      {"prompt", "The sea"}, {"n_predict", 16}, {"temperature", 0}, {"ignore_eos", true}};
  const Reply whole = Post(port(), "/completion", body);
  json streamed_body = body;
  streamed_body["stream"] = true;
  const Reply s = PostStreaming(port(), "/completion", streamed_body);
  ASSERT_EQ(s.status, 200) << s.raw;
  const std::vector<std::string> data = testing::SseData(s.raw);
  ASSERT_GE(data.size(), 2u) << s.raw;
  EXPECT_NE(data.back(), "[DONE]");  // llama-server's /completion stream has none
  std::string joined;
  std::vector<int32_t> tokens;
  for (size_t i = 0; i < data.size(); ++i) {
    const json e = json::parse(data[i]);
    EXPECT_EQ(e["stop"], i + 1 == data.size()) << e;
    joined += e["content"].get<std::string>();
    for (const json& t : e["tokens"]) tokens.push_back(t.get<int32_t>());
    if (i + 1 == data.size()) {
      EXPECT_EQ(e["tokens_predicted"], 16) << e;
      EXPECT_TRUE(e["timings"].is_object()) << e;
      EXPECT_EQ(e["stop_type"], "limit");
    }
  }
  EXPECT_EQ(joined, whole.body["content"]);
  EXPECT_EQ(json(tokens), whole.body["tokens"]);
}

TEST_F(LlamaApi, TokenizeAndDetokenize) {
  Reference ref;
  const Tokenizer& tok = ref.tokenizer();
  const std::string text = "Hello world, hello!";
  const Reply plain = Post(port(), "/tokenize", {{"content", text}});
  ASSERT_EQ(plain.status, 200) << plain.raw;
  EXPECT_EQ(plain.body["tokens"].get<std::vector<int32_t>>(), tok.Encode(text, false, true));
  const Reply special = Post(port(), "/tokenize", {{"content", text}, {"add_special", true}});
  EXPECT_EQ(special.body["tokens"].get<std::vector<int32_t>>(), tok.Encode(text, true, true));
  const Reply pieces = Post(port(), "/tokenize", {{"content", text}, {"with_pieces", true}});
  std::string rebuilt;
  for (const json& p : pieces.body["tokens"]) {
    const std::string piece = Piece(tok, p["id"].get<int32_t>());
    // A piece that is not UTF-8 comes as its bytes.
    EXPECT_EQ(p["piece"], p["piece"].is_string() ? json(piece) : Bytes(piece));
    if (p["piece"].is_string()) {
      rebuilt += piece;
    } else {
      for (const json& b : p["piece"]) rebuilt += static_cast<char>(b.get<int>());
    }
  }
  EXPECT_EQ(rebuilt, text);
  const Reply back = Post(port(), "/detokenize", {{"tokens", plain.body["tokens"]}});
  ASSERT_EQ(back.status, 200) << back.raw;
  EXPECT_EQ(back.body["content"], text);
  const Reply bad = Post(port(), "/detokenize", {{"tokens", {1, 1 << 30}}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["error"]["param"], "tokens");
  EXPECT_EQ(Post(port(), "/tokenize", {{"text", "x"}}).body["error"]["param"], "content");
}

// The value of `name` in a Prometheus text body (-1 when absent).
double MetricValue(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

TEST(LlamaApiHealth, UnavailableOnceShuttingDown) {
  server::SchedulerStats stats;
  stats.slots_total = 2;
  const server::HealthAnswer ok = server::HealthReply(stats);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body["status"], "ok");
  stats.stopping = true;
  const server::HealthAnswer down = server::HealthReply(stats);
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.body["error"]["type"], "unavailable_error");
  EXPECT_TRUE(down.body["error"]["message"].is_string());
}

TEST_F(LlamaApi, PropsSlotsAndHealth) {
  const Reply props = Get(port(), "/props");
  ASSERT_EQ(props.status, 200) << props.raw;
  EXPECT_EQ(props.body["total_slots"], 2);
  EXPECT_EQ(props.body["default_generation_settings"]["n_ctx"], 512);
  const json& params = props.body["default_generation_settings"]["params"];
  EXPECT_NEAR(params["temperature"].get<double>(), 0.8, 1e-6);  // llama-server's default
  EXPECT_EQ(params["top_k"], 40);
  EXPECT_EQ(props.body["model_path"], testing::SynthTinyModel());
  EXPECT_NE(props.body["chat_template"].get<std::string>().find("BITNET"), std::string::npos);
  EXPECT_TRUE(props.body["build_info"].is_string());

  for (const char* path : {"/health", "/v1/health"}) {
    const Reply h = Get(port(), path);
    EXPECT_EQ(h.status, 200) << path;
    EXPECT_EQ(h.body["status"], "ok") << path;
  }

  const Reply idle = Get(port(), "/slots");
  ASSERT_EQ(idle.status, 200) << idle.raw;
  ASSERT_EQ(idle.body.size(), 2u);
  for (const json& s : idle.body) {
    EXPECT_EQ(s["is_processing"], false) << s;
    EXPECT_EQ(s["n_ctx"], 512);
  }
}

// A request that holds its slot for minutes (a context of 65536, no end-of-text) until its
// client leaves: /slots shows it, and /metrics counts it and its cache.
TEST(LlamaApiBusy, SlotsAndMetricsShowARunningRequest) {
  ServerProcess server({"-m", testing::SynthTinyModel(), "--parallel", "2", "-c", "65536",
                        "--metrics", "--allow-long-context"});
  ASSERT_GT(server.port(), 0) << server.Log();
  const int port = server.port();
  json endless = Chat("m", "Go on.", 65000);
  endless["ignore_eos"] = true;
  HeldStream busy(port, endless);
  ASSERT_TRUE(busy.WaitForEvents(2, seconds(30))) << server.Log();
  const Reply during = Get(port, "/slots");
  ASSERT_EQ(during.body.size(), 2u) << during.raw;
  int processing = 0;
  for (const json& s : during.body) {
    EXPECT_EQ(s["n_ctx"], 65536);
    if (s["is_processing"] == true) {
      ++processing;
      EXPECT_GT(s["n_prompt_tokens"].get<int>(), 0) << s;
      EXPECT_GE(s["n_past"].get<int>(), s["n_prompt_tokens"].get<int>()) << s;
    }
  }
  EXPECT_EQ(processing, 1) << during.raw;
  EXPECT_EQ(Get(port, "/slots?fail_on_no_slot=1").status, 200);  // one is still free
  const std::string metrics = Get(port, "/metrics").raw;
  EXPECT_EQ(MetricValue(metrics, "llamacpp:requests_processing"), 1) << metrics;
  EXPECT_EQ(MetricValue(metrics, "llamacpp:requests_deferred"), 0) << metrics;
  EXPECT_GT(MetricValue(metrics, "llamacpp:kv_cache_tokens"), 0) << metrics;
  EXPECT_GT(MetricValue(metrics, "llamacpp:kv_cache_usage_ratio"), 0) << metrics;
  EXPECT_LT(MetricValue(metrics, "llamacpp:kv_cache_usage_ratio"), 1) << metrics;
  busy.Close();
  EXPECT_TRUE(testing::WaitForHealth(
      port, [](const json& h) { return h["slots_idle"] == 2; }, seconds(20)));
  EXPECT_EQ(server.Terminate(seconds(20)), 0) << server.Log();
}

TEST_F(LlamaApi, MetricsCountersGrowWithRequests) {
  const Reply before = Get(port(), "/metrics");
  ASSERT_EQ(before.status, 200) << before.raw;
  const char* names[] = {"prompt_tokens_total",   "tokens_predicted_total",
                         "prompt_seconds_total",  "tokens_predicted_seconds_total",
                         "prompt_tokens_seconds", "predicted_tokens_seconds",
                         "requests_processing",   "requests_deferred",
                         "kv_cache_usage_ratio",  "kv_cache_tokens"};
  for (const char* n : names) {
    const std::string name = std::string("llamacpp:") + n;
    EXPECT_NE(before.raw.find("# HELP " + name + " "), std::string::npos) << name;
    EXPECT_NE(before.raw.find("# TYPE " + name + " "), std::string::npos) << name;
    EXPECT_GE(MetricValue(before.raw, name), 0) << name;
  }
  const Reply r = Post(port(), "/v1/completions",
                       {{"prompt", "Count me"}, {"max_tokens", 5}, {"ignore_eos", true}});
  ASSERT_EQ(r.status, 200) << r.raw;
  const std::string after = Get(port(), "/metrics").raw;
  EXPECT_EQ(MetricValue(after, "llamacpp:prompt_tokens_total") -
                MetricValue(before.raw, "llamacpp:prompt_tokens_total"),
            r.body["usage"]["prompt_tokens"].get<double>());
  EXPECT_EQ(MetricValue(after, "llamacpp:tokens_predicted_total") -
                MetricValue(before.raw, "llamacpp:tokens_predicted_total"),
            5);
  EXPECT_GT(MetricValue(after, "llamacpp:prompt_seconds_total"),
            MetricValue(before.raw, "llamacpp:prompt_seconds_total"));
  EXPECT_GT(MetricValue(after, "llamacpp:predicted_tokens_seconds"), 0);
}

// ---------------------------------------------------------------- API keys

TEST(LlamaApiKeys, EveryRouteButHealthNeedsAKey) {
  testing::TempDir dir;
  const std::string key_file = dir.File("keys");
  std::ofstream(key_file) << "second-key-0123\n\n  third-key-4567  \n";
  ServerProcess server({"-m", testing::SynthTinyModel(), "--parallel", "1", "--api-key",
                        "first-key-89ab", "--api-key-file", key_file, "--cors",
                        "https://app.example"});
  ASSERT_GT(server.port(), 0) << server.Log();
  const int port = server.port();
  const auto bearer = [](const std::string& key) {
    return httplib::Headers{{"Authorization", "Bearer " + key}};
  };
  EXPECT_EQ(Get(port, "/health").status, 200);
  EXPECT_EQ(Get(port, "/v1/health").status, 200);
  const json chat = Chat("gpt-3.5-turbo", "Hi", 2);
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/v1/models"},
                                                        {"GET", "/props"},
                                                        {"GET", "/slots"},
                                                        {"POST", "/v1/chat/completions"},
                                                        {"POST", "/completion"},
                                                        {"POST", "/tokenize"}}) {
    SCOPED_TRACE(method + " " + path);
    const std::string body = path == "/tokenize"     ? R"({"content": "a"})"
                             : path == "/completion" ? R"({"prompt": "a", "n_predict": 1})"
                                                     : chat.dump();
    const Reply none = SendWith(port, method, path, body, {});
    EXPECT_EQ(none.status, 401) << none.raw;
    EXPECT_EQ(none.body["error"]["type"], "authentication_error") << none.raw;
    EXPECT_TRUE(none.body["error"]["message"].is_string());
    const Reply wrong = SendWith(port, method, path, body, bearer("first-key-89aX"));
    EXPECT_EQ(wrong.status, 401) << wrong.raw;
    EXPECT_EQ(wrong.body["error"]["code"], "invalid_api_key") << wrong.raw;
    EXPECT_EQ(SendWith(port, method, path, body, bearer("first-key-89a")).status, 401);
    EXPECT_EQ(SendWith(port, method, path, body, {{"Authorization", "first-key-89ab"}}).status,
              401);  // not a Bearer credential
    for (const char* key : {"first-key-89ab", "second-key-0123", "third-key-4567"}) {
      EXPECT_EQ(SendWith(port, method, path, body, bearer(key)).status, 200) << key;
    }
  }
  // A browser's preflight carries no credentials: it is answered without a key.
  const Reply preflight =
      SendWith(port, "OPTIONS", "/v1/chat/completions", "",
               {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.status, 204);
  // Without --metrics there is no /metrics, key or not.
  EXPECT_EQ(SendWith(port, "GET", "/metrics", "", bearer("first-key-89ab")).status, 404);
  EXPECT_EQ(server.Terminate(seconds(20)), 0);
  const std::string log = server.Log();
  for (const char* key : {"first-key-89ab", "second-key-0123", "third-key-4567", "89aX"}) {
    EXPECT_EQ(log.find(key), std::string::npos) << "a key reached the log: " << key;
  }
}

TEST(LlamaApiKeys, KeyFileMustHoldAKey) {
  testing::TempDir dir;
  const std::string empty = dir.File("empty");
  std::ofstream(empty) << "\n  \n";
  const auto r = testing::RunCli(
      {"serve", "-m", testing::SynthTinyModel(), "--api-key-file", empty, "--port", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("holds no key"), std::string::npos) << r.err;
  const auto missing = testing::RunCli({"serve", "-m", testing::SynthTinyModel(), "--api-key-file",
                                        dir.File("nope"), "--port", "0"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("--api-key-file"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace bitjit
