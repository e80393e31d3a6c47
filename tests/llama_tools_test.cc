// llama-tokenize and llama-perplexity (build/bin/): their command lines and output formats,
// checked against bitjit's own tokenize and perplexity commands on the same model.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/cli.h"

namespace bitjit {
namespace {

using testing::BinProgram;
using testing::CliResult;
using testing::RunCli;
using testing::RunProgram;
using testing::SynthTinyModel;

const char kText[] = "Hello world, the quick brown fox.";

std::vector<int> BitjitIds(const std::string& text) {
  const CliResult r = RunCli({"tokenize", "-m", SynthTinyModel(), "-p", text});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out).get<std::vector<int>>();
}

TEST(LlamaTokenize, IdsPrintsAPythonList) {
  const CliResult r =
      RunProgram(BinProgram("llama-tokenize"), {"-m", SynthTinyModel(), "-p", kText, "--ids"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.rfind("[", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(", "), std::string::npos) << r.out;  // Python's list spacing
  EXPECT_EQ(nlohmann::json::parse(r.out).get<std::vector<int>>(), BitjitIds(kText));
}

TEST(LlamaTokenize, DefaultModePrintsIdArrowPieceLines) {
  const CliResult r = RunProgram(BinProgram("llama-tokenize"),
                                 {"--model", SynthTinyModel(), "--prompt", kText, "--show-count"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::regex line(R"( *(\d+) -> '(.*)')");
  std::stringstream in(r.out);
  std::vector<int> ids;
  std::string pieces, row;
  while (std::getline(in, row)) {
    std::smatch m;
    if (row.rfind("Total number of tokens: ", 0) == 0) {
      EXPECT_EQ(std::stoul(row.substr(24)), ids.size());
      continue;
    }
    ASSERT_TRUE(std::regex_match(row, m, line)) << row;
    ids.push_back(std::stoi(m[1]));
    if (ids.size() > 1) pieces += m[2];  // after BOS, the pieces spell the text
  }
  EXPECT_EQ(ids, BitjitIds(kText));
  EXPECT_EQ(pieces, kText);
}

TEST(LlamaTokenize, NoBosAndMissingInputs) {
  const CliResult r = RunProgram(BinProgram("llama-tokenize"),
                                 {"-m", SynthTinyModel(), "-p", kText, "--ids", "--no-bos"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<int> with_bos = BitjitIds(kText);
  with_bos.erase(with_bos.begin());
  EXPECT_EQ(nlohmann::json::parse(r.out).get<std::vector<int>>(), with_bos);
  const CliResult none = RunProgram(BinProgram("llama-tokenize"), {"-m", SynthTinyModel()});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.err.rfind("error: ", 0), 0u) << none.err;
}

TEST(LlamaPerplexity, EndsWithFinalEstimateAsBitjitPerplexity) {
  testing::TempDir dir;
  const std::string file = dir.File("text.txt");
  std::ofstream out(file);
  for (int i = 0; i < 40; ++i) out << "The quick brown fox jumps over the lazy dog. ";
  out.close();
  const CliResult r =
      RunProgram(BinProgram("llama-perplexity"), {"-m", SynthTinyModel(), "-f", file, "-c", "64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::regex final_line(R"(Final estimate: PPL = (\d+\.\d+) \+/- (\d+\.\d+)\n$)");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, final_line)) << r.out;
  const CliResult own =
      RunCli({"perplexity", "-m", SynthTinyModel(), "-f", file, "-c", "64", "--json"});
  ASSERT_EQ(own.exit_code, 0) << own.err;
  const double ppl = nlohmann::json::parse(own.out)["ppl"];
  EXPECT_NEAR(std::stod(m[1]), ppl, 1e-4 * ppl);
  // -b below the window evaluates it in pieces: the same estimate.
  const CliResult batched = RunProgram(
      BinProgram("llama-perplexity"), {"-m", SynthTinyModel(), "-f", file, "-c", "64", "-b", "16"});
  ASSERT_EQ(batched.exit_code, 0) << batched.err;
  std::smatch mb;
  ASSERT_TRUE(std::regex_search(batched.out, mb, final_line)) << batched.out;
  EXPECT_NEAR(std::stod(mb[1]), ppl, 1e-3 * ppl);
}

TEST(LlamaPerplexity, StrideIsRefusedByName) {
  const CliResult r = RunProgram(BinProgram("llama-perplexity"),
                                 {"-m", SynthTinyModel(), "-f", "x.txt", "--ppl-stride", "32"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--ppl-stride"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace bitjit
