// `bitjit serve --draft`: greedy requests verify drafted tokens and still get exactly the tokens
// `bitjit run` gives without drafts, alone or several at once (drafted rows share steps with the
// other requests' prompts and decode tokens); sampling requests are not drafted and get the
// tokens `run` samples with the same seed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <thread>
#include <vector>

#include "tests/server/http_client.h"
#include "tests/server/server_process.h"
#include "tests/testing/cli.h"

namespace bitjit {
namespace {

using nlohmann::json;
using testing::Post;
using testing::Reply;
using testing::ServerProcess;

const std::string kStories = std::string(BITJIT_SOURCE_DIR) + "/models/bitjit-stories.gguf";

const std::vector<std::string> kPrompts = {
    "Once upon a time, there was a little girl named Lily. She liked to play. Once upon a time, "
    "there was",
    "Tom had a red ball. Tom had a red ball. Tom had a red",
    "The dog ran to the park.",
};

// `bitjit run`'s ids, without drafts.
std::vector<int32_t> RunIds(const std::string& prompt, int n, const std::string& temp,
                            const std::string& seed) {
  const testing::CliResult r =
      testing::RunCli({"run", "-m", kStories, "-p", prompt, "-n", std::to_string(n), "--temp", temp,
                       "--seed", seed, "--ignore-eos", "--json", "--quiet"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return {};
  return json::parse(r.out)["ids"].get<std::vector<int32_t>>();
}

json Completion(int port, const std::string& prompt, int n, double temp, int seed) {
  const Reply r = Post(port, "/completion",
                       {{"prompt", prompt},
                        {"n_predict", n},
                        {"temperature", temp},
                        {"seed", seed},
                        {"ignore_eos", true}});
  EXPECT_EQ(r.status, 200) << r.raw;
  return r.body;
}

TEST(ServeDraft, GreedyRepliesEqualRunWithoutDraftsAloneAndTogether) {
  ServerProcess server({"-m", kStories, "--parallel", "3", "-c", "256", "--draft", "ngram:6:1"});
  ASSERT_GT(server.port(), 0) << server.Log();
  constexpr int kN = 64;
  std::vector<std::vector<int32_t>> expected;
  for (const std::string& p : kPrompts) expected.push_back(RunIds(p, kN, "0", "1"));
  int drafted = 0, accepted = 0;
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    const json body = Completion(server.port(), kPrompts[i], kN, 0, 1);
    EXPECT_EQ(body["tokens"].get<std::vector<int32_t>>(), expected[i]) << "prompt " << i;
    drafted += body["timings"].value("draft_n", 0);
    accepted += body["timings"].value("draft_n_accepted", 0);
  }
  EXPECT_GT(accepted, 0) << "no draft was accepted: this test would not see a wrong one";
  EXPECT_GT(drafted, accepted) << "no draft was rejected: this test would not see a bad rollback";
  // Together: the drafted rows of one request share steps with the others'.
  std::vector<json> together(kPrompts.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    clients.emplace_back(
        [&, i] { together[i] = Completion(server.port(), kPrompts[i], kN, 0, 1); });
  }
  for (std::thread& t : clients) t.join();
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    EXPECT_EQ(together[i]["tokens"].get<std::vector<int32_t>>(), expected[i]) << "prompt " << i;
  }
  // Sampling is not drafted: the same seed gives run's tokens, and no draft is counted.
  const json sampled = Completion(server.port(), kPrompts[0], 32, 0.8, 7);
  EXPECT_EQ(sampled["tokens"].get<std::vector<int32_t>>(), RunIds(kPrompts[0], 32, "0.8", "7"));
  EXPECT_FALSE(sampled["timings"].contains("draft_n")) << sampled["timings"];
  EXPECT_EQ(server.Terminate(std::chrono::seconds(20)), 0) << server.Log();
}

TEST(ServeDraft, BadSpecIsRefusedBeforeLoading) {
  for (const char* spec : {"ngram:0", "ngram:x", "ngram:8:9", "lookahead", "ngram:8:2:1"}) {
    const testing::CliResult r = testing::RunCli({"serve", "-m", kStories, "--draft", spec});
    EXPECT_EQ(r.exit_code, 2) << spec;
    EXPECT_NE(r.err.find("--draft"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace bitjit
