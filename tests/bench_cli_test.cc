// bitjit bench: the table and JSON it prints, the variants it interleaves, and the flags it
// refuses. (Its figures are measurements, not checked here: speed is shown by running it.)
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <algorithm>
#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/ternary/ternary_matmul.h"
#include "runtime/tuning/tile_choice.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

std::string Tiny() {
  return testing::SharedDir() + "/golden/tiny/model.gguf";
}

// The packing bench reports by default must not depend on a tuning cache in the user's home.
class BenchCli : public ::testing::Test {
 protected:
  void SetUp() override { setenv("BITJIT_TUNING_CACHE", dir_.File("none.textproto").c_str(), 1); }
  void TearDown() override { unsetenv("BITJIT_TUNING_CACHE"); }

 private:
  testing::TempDir dir_;
};

bool Has1p6Bit() {
  return codegen::TernaryPackingSupported(codegen::BestIsa(), codegen::TernaryPacking::k1p6Bit) &&
         codegen::BestIsa() != codegen::Isa::kRef;
}

TEST_F(BenchCli, PrintsOneRowPerTestAndThreadCount) {
  const testing::CliResult r = testing::RunCli(
      {"bench", "-m", Tiny(), "-p", "8,16", "-n", "4", "-t", "1,2", "-r", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 6u);  // (pp8, pp16, tg4) x (1, 2 threads)
  const char* tests[] = {"pp8", "pp16", "tg4"};
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    EXPECT_EQ(row["test"], tests[i % 3]);
    EXPECT_EQ(row["threads"], i < 3 ? 1 : 2);
    EXPECT_EQ(row["reps"].size(), 2u);
    EXPECT_GT(row["tokens_per_second"].get<double>(), 0);
    EXPECT_EQ(row["lm_head"], "f16");
    // The untuned default: 1.6 bits with VBMI, 2 bits on avx2 (which can run 1.6 bits).
    EXPECT_EQ(row["ternary_packing"],
              codegen::TernaryPackingName(DefaultTernaryPacking(codegen::BestIsa())));
    EXPECT_FALSE(row.contains("vs_first"));
  }
  const testing::CliResult table =
      testing::RunCli({"bench", "-m", Tiny(), "-p", "8", "-n", "4", "-t", "1", "-r", "1"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("| pp8     |       1 |"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("| tg4     |       1 |"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("lm_head: f16"), std::string::npos) << table.out;
}

// Lists of --ternary-packing and --lm-head: one model per combination, rows in the lists'
// order, each later combination with its ratio to the first.
TEST_F(BenchCli, InterleavesEveryCombinationOfTheLists) {
  if (!Has1p6Bit()) GTEST_SKIP() << "1.6-bit weights need avx2, or avx512vnni with AVX512_VBMI";
  const testing::CliResult r =
      testing::RunCli({"bench", "-m", Tiny(), "-p", "8", "-n", "4", "-t", "1", "-r", "2",
                       "--ternary-packing", "2bit,1.6bit", "--lm-head", "f16,q8_0", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 8u);  // (pp8, tg4) x 4 combinations
  const char* packings[] = {"2bit", "2bit", "1.6bit", "1.6bit"};
  const char* heads[] = {"f16", "q8_0", "f16", "q8_0"};
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    EXPECT_EQ(row["test"], i < 4 ? "pp8" : "tg4");
    EXPECT_EQ(row["ternary_packing"], packings[i % 4]) << i;
    EXPECT_EQ(row["lm_head"], heads[i % 4]) << i;
    EXPECT_EQ(row.contains("vs_first"), i % 4 != 0) << i;
    if (i % 4 != 0) {
      EXPECT_GT(row["vs_first"].get<double>(), 0);
    }
  }
}

TEST_F(BenchCli, RefusesBadFlagsWithOneLine) {
  testing::TempDir dir;
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const Case cases[] = {
      {{"-r", "0"}, "-r must be at least 1"},
      {{"-p", "0"}, "must be positive"},
      {{"--ternary-packing", "2bit,3bit"}, "expected auto, 2bit or 1.6bit"},
      {{"--lm-head", "f16,q4"}, "q4"},
      {{"--ternary-packing", ",1.6bit"}, "an empty list entry"},
      {{"--plan", dir.File("none.plan"), "--ternary-packing", "2bit,1.6bit"}, "need -m"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"bench", "-m", Tiny(), "-n", "2", "-r", "1"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const testing::CliResult r = testing::RunCli(args);
    EXPECT_EQ(r.exit_code, 2) << c.message;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace bitjit
