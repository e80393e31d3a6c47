// `bitjit perplexity`: the NLL/PPL arithmetic, the golden models' logits-based perplexity
// (bitnet.cpp's prompt_logits against the command's --score-all), and llama-perplexity's
// windowing (non-overlapping windows, BOS first, second half scored) checked against logits
// the test gets from `bitjit eval` window by window.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "runtime/perplexity.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

using testing::RunCli;

std::string Join(const std::vector<int32_t>& ids) {
  std::ostringstream os;
  for (size_t i = 0; i < ids.size(); ++i) os << (i ? "," : "") << ids[i];
  return os.str();
}

nlohmann::json RunJson(const std::vector<std::string>& args) {
  const auto r = RunCli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
}

TEST(PerplexityMath, TokenNllIsMinusLogSoftmax) {
  const std::vector<float> uniform(4, 3.0f);
  EXPECT_NEAR(TokenNll(uniform, 2), std::log(4.0), 1e-12);
  // softmax([0, ln 3]) = [1/4, 3/4].
  const std::vector<float> row = {0.0f, static_cast<float>(std::log(3.0))};
  EXPECT_NEAR(TokenNll(row, 1), -std::log(0.75), 1e-7);
  EXPECT_NEAR(TokenNll(row, 0), -std::log(0.25), 1e-7);
  // Large logits must not overflow.
  const std::vector<float> big = {1000.0f, 1000.0f};
  EXPECT_NEAR(TokenNll(big, 0), std::log(2.0), 1e-12);
}

TEST(PerplexityMath, ErrorIsLlamaCppsStandardErrorOfTheMean) {
  NllStats stats;
  EXPECT_EQ(stats.PplError(), 0);
  for (double v : {1.0, 2.0, 3.0}) stats.Add(v);
  EXPECT_DOUBLE_EQ(stats.MeanNll(), 2.0);
  EXPECT_NEAR(stats.Ppl(), std::exp(2.0), 1e-12);
  // Population variance 2/3, over count - 1 = 2, times PPL.
  EXPECT_NEAR(stats.PplError(), std::exp(2.0) * std::sqrt((2.0 / 3.0) / 2.0), 1e-12);
}

class PerplexityGolden : public ::testing::TestWithParam<std::string> {};

// The perplexity of prompt_ids[1:] computed from bitnet.cpp's own prompt-batch logits must be
// what bitjit measures for the same ids.
TEST_P(PerplexityGolden, ScoreAllMatchesBitnetCppLogits) {
  const testing::GoldenCase c = testing::LoadGoldenCase(GetParam());
  double nll = 0;
  const size_t n = c.prompt_ids.size();
  for (size_t j = 0; j + 1 < n; ++j) {
    nll +=
        TokenNll(std::span(c.prompt_logits).subspan(j * c.n_vocab, c.n_vocab), c.prompt_ids[j + 1]);
  }
  const double expected = std::exp(nll / (n - 1));
  const auto j = RunJson(
      {"perplexity", "-m", c.model_path, "--ids", Join(c.prompt_ids), "--score-all", "--json"});
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["n_scored"].get<int64_t>(), static_cast<int64_t>(n - 1));
  EXPECT_EQ(j["n_windows"].get<int64_t>(), 1);
  const double ours = j["ppl"].get<double>();
  EXPECT_NEAR(ours / expected, 1.0, 1e-4) << "bitjit " << ours << ", bitnet.cpp " << expected;
}

INSTANTIATE_TEST_SUITE_P(Cases, PerplexityGolden, ::testing::ValuesIn(testing::GoldenCaseNames()),
                         [](const auto& info) { return testing::TestName(info.param); });

// llama-perplexity's windows, recomputed here from `bitjit eval` prompt logits: 2 whole windows
// of 8 (the 3 tokens after them unused), each with its first token replaced by BOS, positions
// 4..6 scored.
TEST(Perplexity, WindowsFollowLlamaPerplexity) {
  const testing::GoldenCase c = testing::LoadGoldenCase("tiny");
  std::vector<int32_t> ids = c.prompt_ids;
  ids.insert(ids.end(), c.greedy_ids.begin(), c.greedy_ids.begin() + 9);  // 19 tokens
  constexpr int64_t kCtx = 8;
  const int32_t bos = c.prompt_ids[0];
  NllStats expected;
  std::vector<double> running;
  for (int64_t w = 0; w < 2; ++w) {
    std::vector<int32_t> window(ids.begin() + w * kCtx, ids.begin() + (w + 1) * kCtx);
    window[0] = bos;
    testing::TempDir dir;
    const auto r = RunCli({"eval", "-m", c.model_path, "--prompt-ids", Join(window),
                           "--prompt-logits-out", dir.File("rows.f32")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto rows = testing::ReadF32File(dir.File("rows.f32"));
    for (int64_t pos = kCtx / 2; pos < kCtx - 1; ++pos) {
      expected.Add(
          TokenNll(std::span(rows).subspan(pos * c.n_vocab, c.n_vocab), ids[w * kCtx + pos + 1]));
    }
    running.push_back(expected.Ppl());
  }
  const auto j =
      RunJson({"perplexity", "-m", c.model_path, "--ids", Join(ids), "-c", "8", "--json"});
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["n_windows"].get<int64_t>(), 2);
  EXPECT_EQ(j["n_scored"].get<int64_t>(), 6);
  EXPECT_NEAR(j["ppl"].get<double>(), expected.Ppl(), 1e-9 * expected.Ppl());
  EXPECT_NEAR(j["ppl_error"].get<double>(), expected.PplError(), 1e-9 * expected.Ppl());
  const auto got_running = j["running_ppl"].get<std::vector<double>>();
  ASSERT_EQ(got_running.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(got_running[i], running[i], 1e-9 * running[i]);

  // Smaller batches inside a window change only roundings.
  const auto batched = RunJson(
      {"perplexity", "-m", c.model_path, "--ids", Join(ids), "-c", "8", "--batch", "3", "--json"});
  ASSERT_TRUE(batched.is_object());
  EXPECT_NEAR(batched["ppl"].get<double>() / expected.Ppl(), 1.0, 1e-3);
}

TEST(Perplexity, TextFileGivesTheSameAsItsTokens) {
  const testing::GoldenCase c = testing::LoadGoldenCase("tiny");
  const std::string text =
      "The capital of France is Paris. The capital of Italy is Rome, and the capital of Spain "
      "is Madrid. Once upon a time there was a model that measured its own perplexity.";
  testing::TempDir dir;
  std::ofstream(dir.File("text.txt")) << text;
  const auto tokenized = RunCli({"tokenize", "-m", c.model_path, "-p", text, "--no-parse-special"});
  ASSERT_EQ(tokenized.exit_code, 0) << tokenized.err;
  const auto ids = nlohmann::json::parse(tokenized.out).get<std::vector<int32_t>>();
  ASSERT_GE(ids.size(), 32u);

  const auto r = RunCli({"perplexity", "-m", c.model_path, "-f", dir.File("text.txt"), "-c", "16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // llama.cpp's output: the running value per window, then the final estimate.
  EXPECT_NE(r.out.find("[1]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[2]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Final estimate: PPL = "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" +/- "), std::string::npos) << r.out;

  const auto from_file =
      RunJson({"perplexity", "-m", c.model_path, "-f", dir.File("text.txt"), "-c", "16", "--json"});
  const auto from_ids =
      RunJson({"perplexity", "-m", c.model_path, "--ids", Join(ids), "-c", "16", "--json"});
  ASSERT_TRUE(from_file.is_object() && from_ids.is_object());
  EXPECT_EQ(from_file["n_tokens"], from_ids["n_tokens"]);
  EXPECT_EQ(from_file["ppl"].get<double>(), from_ids["ppl"].get<double>());
  // A random model is far from uniform over 512 tokens, but not infinitely wrong.
  EXPECT_GT(from_file["ppl"].get<double>(), 1.0);
  EXPECT_TRUE(std::isfinite(from_file["ppl"].get<double>()));
}

TEST(Perplexity, TooShortInputSaysHowManyTokensAreNeeded) {
  const testing::GoldenCase c = testing::LoadGoldenCase("tiny");
  const auto r = RunCli({"perplexity", "-m", c.model_path, "--ids", Join(c.prompt_ids), "-c", "8"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("needs at least 16 tokens"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("only 10"), std::string::npos) << r.err;

  const auto both = RunCli({"perplexity", "-m", c.model_path, "--ids", "1,2", "-f", "x.txt"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("exactly one of -f"), std::string::npos) << both.err;
}

}  // namespace
}  // namespace bitjit
