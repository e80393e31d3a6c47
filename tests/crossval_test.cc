// `bitjit crossval`: every golden case passes against its own model; a wrong model, a damaged
// golden row, and a llama-cli whose text differs all fail with exit 1 and say why. llama-cli
// is a fake: a shell script the test writes, which records its arguments and prints cli.txt.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/crossval.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

using testing::RunCli;
namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// Copies a golden case folder (without its model, which stays where it is) so that the test
// can damage it.
std::string CopyCase(const testing::GoldenCase& c, const testing::TempDir& dir) {
  const std::string out = dir.File(c.name);
  fs::create_directories(out);
  for (const char* name : {"case.json", "step_logits.f32", "prompt_logits.f32", "cli.txt"}) {
    fs::copy_file(c.dir + "/" + name, out + "/" + name);
    fs::permissions(out + "/" + name, fs::perms::owner_write, fs::perm_options::add);
  }
  return out;
}

// A stand-in for llama-cli: records one argument per line in ARGS, prints OUTPUT's bytes, and
// exits with `status`.
std::string WriteFakeLlamaCli(const testing::TempDir& dir, const std::string& output,
                              int status = 0) {
  std::ofstream(dir.File("output.txt"), std::ios::binary) << output;
  const std::string path = dir.File("llama-cli");
  std::ofstream(path) << "#!/bin/sh\n"
                      << "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > '" << dir.File("args")
                      << "'\n"
                      << "cat '" << dir.File("output.txt") << "'\n"
                      << "echo 'fake llama-cli done' >&2\n"
                      << "exit " << status << "\n";
  ::chmod(path.c_str(), 0755);
  return path;
}

class CrossvalGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(CrossvalGolden, PassesAgainstItsOwnModel) {
  const testing::GoldenCase c = testing::LoadGoldenCase(GetParam());
  const auto r = RunCli({"crossval", "-m", c.model_path, "--golden", c.dir});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verdict: PASS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rule C:"), std::string::npos) << r.out;
  // The table: one line per prompt row and per step row.
  size_t prompt_lines = 0, step_lines = 0;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    prompt_lines += line.rfind("prompt ", 0) == 0;
    step_lines += line.rfind("step ", 0) == 0;
  }
  EXPECT_EQ(prompt_lines, c.prompt_ids.size()) << r.out;
  EXPECT_EQ(step_lines, c.greedy_ids.size()) << r.out;

  const auto j = RunCli({"crossval", "--golden", c.dir, "--json"});  // -m: the case's model
  ASSERT_EQ(j.exit_code, 0) << j.out << j.err;
  const auto out = nlohmann::json::parse(j.out);
  EXPECT_EQ(out["verdict"], "pass");
  const auto& golden = out["golden"];
  EXPECT_TRUE(golden["rule_c"]["passes"].get<bool>());
  EXPECT_EQ(golden["rows"].size(), c.prompt_ids.size() + c.greedy_ids.size());
  EXPECT_EQ(golden["greedy_first_divergence"].get<int64_t>(), -1);
  EXPECT_EQ(golden["tokenization_first_divergence"].get<int64_t>(), -1);
  EXPECT_GE(golden["top1_agreement"].get<double>(), 0.99);
}

INSTANTIATE_TEST_SUITE_P(Cases, CrossvalGolden, ::testing::ValuesIn(testing::GoldenCaseNames()),
                         [](const auto& info) { return testing::TestName(info.param); });

TEST(Crossval, EveryGoldenMoreCaseIsRunOrListedAsNotYetRun) {
  EXPECT_TRUE(testing::UnlistedMoreCases().empty())
      << "a golden-more case is neither run nor listed: " << testing::UnlistedMoreCases()[0];
}

TEST(Crossval, WrongModelWithTheSameVocabularyFailsRuleC) {
  // tiny and e128-h1 both have 512 tokens; their weights differ.
  const testing::GoldenCase c = testing::LoadGoldenCase("tiny");
  const testing::GoldenCase other = testing::LoadGoldenCase("e128-h1");
  ASSERT_EQ(c.n_vocab, other.n_vocab);
  const auto r = RunCli({"crossval", "-m", other.model_path, "--golden", c.dir});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("verdict: FAIL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rule C: median rel"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("step row 0 rel"), std::string::npos) << r.out;
}

TEST(Crossval, WrongVocabularyFailsNamingIt) {
  const testing::GoldenCase c = testing::LoadGoldenCase("tiny");
  const testing::GoldenCase other = testing::LoadGoldenCase("gqa4-k4224");
  ASSERT_NE(c.n_vocab, other.n_vocab);
  const auto r = RunCli({"crossval", "-m", other.model_path, "--golden", c.dir, "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["verdict"], "fail");
  ASSERT_EQ(out["failures"].size(), 1u);
  EXPECT_NE(out["failures"][0].get<std::string>().find("not the case's model"), std::string::npos);
}

TEST(Crossval, DamagedStepRowZeroFailsRuleC) {
  const testing::GoldenCase c = testing::LoadGoldenCase("tiny");
  testing::TempDir dir;
  const std::string case_dir = CopyCase(c, dir);
  // Move one logit of step row 0 by 1 % of the row's largest: rel 1e-2 > 1e-4 on that row only.
  std::vector<float> steps = c.step_logits;
  float max_abs = 0;
  for (int64_t v = 0; v < c.n_vocab; ++v) max_abs = std::max(max_abs, std::fabs(steps[v]));
  steps[7] += 0.01f * max_abs;
  std::ofstream(case_dir + "/step_logits.f32", std::ios::binary)
      .write(reinterpret_cast<const char*>(steps.data()), steps.size() * sizeof(float));
  const auto r = RunCli({"crossval", "-m", c.model_path, "--golden", case_dir, "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto out = nlohmann::json::parse(r.out);
  const auto& rule = out["golden"]["rule_c"];
  EXPECT_FALSE(rule["passes"].get<bool>());
  EXPECT_NEAR(rule["step0_rel"].get<double>(), 0.01, 1e-3);
  EXPECT_LE(rule["median_rel"].get<double>(), 1e-4);  // only row 0 was damaged
  ASSERT_EQ(out["failures"].size(), 1u);
  EXPECT_EQ(out["failures"][0].get<std::string>().find("rule C: step row 0 rel"), 0u) << out;
}

TEST(Crossval, TruncatedLogitsFileIsAnError) {
  const testing::GoldenCase c = testing::LoadGoldenCase("tiny");
  testing::TempDir dir;
  const std::string case_dir = CopyCase(c, dir);
  fs::resize_file(case_dir + "/prompt_logits.f32", 100);
  const auto r = RunCli({"crossval", "-m", c.model_path, "--golden", case_dir});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("prompt_logits.f32 has 100 bytes"), std::string::npos) << r.err;
}

TEST(Crossval, LlamaCliWithTheSameTextPasses) {
  const testing::GoldenCase c = testing::LoadGoldenCase("tiny");
  testing::TempDir dir;
  const std::string fake = WriteFakeLlamaCli(dir, Slurp(c.dir + "/cli.txt"));
  const auto r = RunCli({"crossval", "-m", c.model_path, "--llama-cli", fake, "-p", c.prompt, "-n",
                         std::to_string(c.greedy_ids.size()), "-t", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("llama-cli: the "), std::string::npos) << r.out;
  // The command line llama-cli got, argument by argument (no shell in between).
  const std::string expected_args = "-m\n" + c.model_path + "\n-p\n" + c.prompt + "\n-n\n" +
                                    std::to_string(c.greedy_ids.size()) +
                                    "\n--temp\n0\n-t\n2\n--ignore-eos\n";
  EXPECT_EQ(Slurp(dir.File("args")), expected_args);
}

TEST(Crossval, LlamaCliWithOtherTextFailsAtTheFirstDifferentByte) {
  const testing::GoldenCase c = testing::LoadGoldenCase("tiny");
  std::string text = Slurp(c.dir + "/cli.txt");
  const size_t at = 5;  // a byte of the generated text, after the echoed prompt
  text[c.prompt.size() + at] ^= 0x20;
  testing::TempDir dir;
  const std::string fake = WriteFakeLlamaCli(dir, text);
  // With --golden, the prompt and the token count come from the case.
  const auto r = RunCli({"crossval", "--golden", c.dir, "--llama-cli", fake});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("diverges at byte " + std::to_string(at)), std::string::npos) << r.out;
  EXPECT_NE(Slurp(dir.File("args")).find("-n\n32\n"), std::string::npos);
}

TEST(Crossval, LlamaCliThatFailsIsAnError) {
  const testing::GoldenCase c = testing::LoadGoldenCase("tiny");
  testing::TempDir dir;
  const std::string fake = WriteFakeLlamaCli(dir, "", 3);
  const auto r =
      RunCli({"crossval", "-m", c.model_path, "--llama-cli", fake, "-p", "Hi", "-n", "2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("exited with status 3: fake llama-cli done"), std::string::npos) << r.err;

  const auto missing = RunCli(
      {"crossval", "-m", c.model_path, "--llama-cli", dir.File("nope"), "-p", "Hi", "-n", "2"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("cannot run"), std::string::npos) << missing.err;
}

TEST(CrossvalMath, RowComparison) {
  const std::vector<float> ref = {1.0f, -2.0f, 4.0f, 0.5f};
  const auto same = crossval::CompareRow(ref, ref);
  EXPECT_NEAR(same.cosine, 1.0, 1e-15);
  EXPECT_EQ(same.max_abs_diff, 0);
  EXPECT_EQ(same.top1_ref, 2);
  EXPECT_TRUE(same.top1_agrees());

  const std::vector<float> ours = {1.0f, -2.0f, 4.0f, 4.5f};
  const auto diff = crossval::CompareRow(ours, ref);
  EXPECT_DOUBLE_EQ(diff.max_abs_diff, 4.0);
  EXPECT_DOUBLE_EQ(diff.rel, 1.0);  // 4 / max|ref| = 4
  EXPECT_EQ(diff.top1_ours, 3);
  EXPECT_FALSE(diff.top1_agrees());
  const double dot = 1 + 4 + 16 + 2.25, na = std::sqrt(1 + 4 + 16 + 20.25), nb = std::sqrt(21.25);
  EXPECT_NEAR(diff.cosine, dot / (na * nb), 1e-12);
}

TEST(CrossvalMath, RuleCNeedsAllThreeParts) {
  auto rows = [](std::vector<double> rels) {
    std::vector<crossval::RowComparison> out(rels.size());
    for (size_t i = 0; i < rels.size(); ++i) out[i].rel = rels[i];
    return out;
  };
  const auto good_prompt = rows(std::vector<double>(10, 1e-6));
  EXPECT_TRUE(crossval::ApplyRuleC(good_prompt, rows({1e-6, 1e-6})).passes);
  // Step row 0 alone over the limit.
  const auto bad0 = crossval::ApplyRuleC(good_prompt, rows({1e-3, 1e-6}));
  EXPECT_FALSE(bad0.passes);
  EXPECT_NE(bad0.Explain().find("step row 0"), std::string::npos);
  // 2 of 10 prompt rows over the limit: 80 % < 90 %.
  auto prompt = good_prompt;
  prompt[3].rel = prompt[4].rel = 0.5;
  const auto few = crossval::ApplyRuleC(prompt, rows({1e-6}));
  EXPECT_FALSE(few.passes);
  EXPECT_NEAR(few.prompt_within, 0.8, 1e-12);
  // Median over all rows.
  EXPECT_FALSE(crossval::ApplyRuleC(rows({1e-6, 1, 1}), rows({1e-6, 1, 1})).passes);
}

TEST(CrossvalMath, FirstDivergence) {
  const std::vector<int32_t> a = {1, 2, 3}, b = {1, 2, 4}, c = {1, 2};
  EXPECT_EQ(crossval::FirstDivergence(a, a), -1);
  EXPECT_EQ(crossval::FirstDivergence(a, b), 2);
  EXPECT_EQ(crossval::FirstDivergence(a, c), 2);
}

}  // namespace
}  // namespace bitjit
