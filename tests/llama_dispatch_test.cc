// The llama.cpp personalities as programs: build/bin holds links named as llama.cpp's programs
// that run bitjit in that personality, "bitjit llama-cli" is the same, bitjit's own commands
// stay, and every personality's --help prints llama.cpp's spellings with readable defaults.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/testing/cli.h"

namespace bitjit {
namespace {

using testing::BinProgram;
using testing::RunCli;
using testing::RunProgram;

const std::vector<std::string> kPersonalities = {"llama-cli",      "llama-server",
                                                 "llama-bench",    "llama-perplexity",
                                                 "llama-tokenize", "llama-quantize"};

TEST(LlamaDispatch, BuildBinHoldsEveryPersonalityAndBitjit) {
  std::vector<std::string> names = kPersonalities;
  names.push_back("bitjit");
  for (const std::string& name : names) {
    struct stat st {};
    ASSERT_EQ(stat(BinProgram(name).c_str(), &st), 0) << name;
    EXPECT_TRUE(st.st_mode & S_IXUSR) << name;
  }
  const auto own = RunProgram(BinProgram("bitjit"), {"--help"});
  EXPECT_EQ(own.exit_code, 0);
  EXPECT_NE(own.out.find("  run "), std::string::npos) << own.out;
}

TEST(LlamaDispatch, HelpOfEveryPersonalityThroughTheLinkAndAsACommand) {
  for (const std::string& name : kPersonalities) {
    const auto linked = RunProgram(BinProgram(name), {"--help"});
    ASSERT_EQ(linked.exit_code, 0) << name << linked.err;
    EXPECT_EQ(linked.out.rfind("usage: " + name + " ", 0), 0u) << linked.out;
    const auto command = RunCli({name, "--help"});
    EXPECT_EQ(command.exit_code, 0) << name;
    EXPECT_EQ(command.out, linked.out) << name;
  }
}

TEST(LlamaDispatch, HelpSpellsFlagsWithDashesAndDefaultsAsPeopleWriteThem) {
  const auto cli = RunProgram(BinProgram("llama-cli"), {"--help"});
  ASSERT_EQ(cli.exit_code, 0);
  for (const char* spelled : {"-m, --model", "-n, --n-predict", "-c, --ctx-size", "-ngl", "--top-k",
                              "-cnv, --conversation", "--no-display-prompt"}) {
    EXPECT_NE(cli.out.find(spelled), std::string::npos) << spelled << "\n" << cli.out;
  }
  EXPECT_NE(cli.out.find("default: 0.8)"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("default: 0.95)"), std::string::npos) << cli.out;
  EXPECT_EQ(cli.out.find("0000000"), std::string::npos) << cli.out;
  EXPECT_EQ(cli.out.find("top_k"), std::string::npos) << cli.out;
  // bitjit's own commands get the same readable help.
  const auto run = RunCli({"run", "--help"});
  EXPECT_NE(run.out.find("--top-p"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("0000000"), std::string::npos) << run.out;
}

TEST(LlamaDispatch, BitjitsOwnFlagsStayUnknownToPersonalitiesAndBack) {
  // llama.cpp's spellings belong to the personalities, not to bitjit run.
  const auto r = RunCli({"run", "-ngl", "0", "--help"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown flag '-ngl' for 'bitjit run'"), std::string::npos) << r.err;
  const auto p = RunProgram(BinProgram("llama-cli"), {"--json"});
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_NE(p.err.find("unknown flag '--json' for 'llama-cli'"), std::string::npos) << p.err;
}

}  // namespace
}  // namespace bitjit
