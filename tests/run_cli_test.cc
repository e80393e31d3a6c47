// `bitjit run` as a user drives it: chat over stdin, bad input, and batches as large as the
// context (bitnet.cpp overflows its stack at 1 thread with a 512-token batch).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "runtime/model.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

using testing::RunCli;

std::string Tiny() {
  return testing::SharedDir() + "/golden/tiny/model.gguf";
}

TEST(RunCli, ChatKeepsGoingAcrossTurnsResetAndEof) {
  const auto r =
      RunCli({"run", "--chat", "-m", Tiny(), "-n", "8", "--temp", "0", "--system", "Be brief."},
             "Hello there\nWhat is 2+2?\n/reset\nAgain\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("conversation reset"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("error"), std::string::npos) << r.err;
  // Each of the three turns ends its reply with a newline (replies may hold newlines too).
  EXPECT_GE(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
}

TEST(RunCli, ChatAliasCnvAndEmptyInput) {
  const auto r = RunCli({"run", "-cnv", "-m", Tiny()}, "");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(RunCli, PromptLongerThanTheContextIsRefused) {
  std::string prompt;
  for (int i = 0; i < 400; ++i) prompt += "word ";
  const auto r = RunCli({"run", "-m", Tiny(), "-p", prompt, "-n", "4", "-c", "64"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("does not fit the context"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(RunCli, BadFlagsAreOneLineErrors) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"run", "-m", Tiny(), "--no-such-flag"},
                                             {"run", "-m", Tiny(), "-n", "abc"},
                                             {"run", "-m", Tiny(), "--temp"},
                                             {"run", "-m", Tiny(), "--isa", "sse9"},
                                             {"run", "-m", Tiny(), "--prompt-ids", "1,x,3"},
                                             {"inspect"},
                                             {"frobnicate"}}) {
    const auto r = RunCli(args);
    EXPECT_EQ(r.exit_code, 2) << args[1];
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  }
}

// --draft: the same ids and logits as plain greedy decoding (runtime-level proof in
// speculative_decode_test.cc); with sampling it is refused, not silently ignored.
TEST(RunCli, DraftGivesPlainGreedyOutputAndRefusesSampling) {
  const testing::TempDir dir;
  const std::string stories = std::string(BITJIT_SOURCE_DIR) + "/models/bitjit-stories.gguf";
  const std::vector<std::string> base = {
      "run",    "-m", stories,  "-p", "Tom had a red ball. Tom had a red ball. Tom had a red",
      "-n",     "40", "--temp", "0",  "--json",
      "--quiet"};
  auto with = [&](std::vector<std::string> extra, const std::string& logits) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--logits-out", dir.File(logits)});
    const auto r = RunCli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  };
  const nlohmann::json plain = with({}, "plain.f32"), drafted = with({"--draft", "ngram"}, "d.f32");
  EXPECT_EQ(drafted["ids"], plain["ids"]);
  EXPECT_EQ(testing::ReadFile(dir.File("d.f32")), testing::ReadFile(dir.File("plain.f32")));
  EXPECT_GT(drafted["timings"]["draft_accepted"].get<int>(), 0) << drafted["timings"];
  EXPECT_EQ(plain["timings"]["draft_tokens"].get<int>(), 0);

  const auto sampled =
      RunCli({"run", "-m", stories, "-p", "Hi", "--temp", "0.8", "--draft", "ngram"});
  EXPECT_EQ(sampled.exit_code, 2);
  EXPECT_NE(sampled.err.find("--draft verifies greedy decoding only"), std::string::npos)
      << sampled.err;
  const auto bad = RunCli({"run", "-m", stories, "--temp", "0", "--draft", "ngram:100"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--draft ngram:100: N"), std::string::npos) << bad.err;
}

TEST(RunCli, OutOfVocabularyPromptIdIsRefused) {
  const auto r = RunCli({"run", "-m", Tiny(), "--prompt-ids", "1,99999", "-n", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("outside the vocabulary"), std::string::npos) << r.err;
}

// Large batches on one thread and on two: no crash, finite logits, and the last row equals
// the logits of the same prefix computed in smaller batches (within float rounding).
TEST(LargeBatch, FiveHundredTwelveTokensOnOneAndTwoThreads) {
  for (int threads : {1, 2}) {
    ModelOptions options;
    options.n_threads = threads;
    auto model = Model::Load(testing::SharedDir() + "/golden/shape2b-l2/model.gguf", options);
    std::vector<int32_t> ids(512);
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 37 + 11) % 1000);
    Session big(*model, 600);
    std::vector<float> logits;
    big.Eval(ids, false, &logits);
    for (float v : logits) ASSERT_TRUE(std::isfinite(v));
    Session chunked(*model, 600);
    std::vector<float> part;
    for (size_t i = 0; i < ids.size(); i += 128)
      chunked.Eval(std::span(&ids[i], 128), false, &part);
    EXPECT_LT(testing::RowRel(part.data(), logits.data(), model->config().n_vocab), 1e-2)
        << "threads " << threads;
  }
}

}  // namespace
}  // namespace bitjit
