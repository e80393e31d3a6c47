// llama-bench (build/bin/llama-bench): bitnet.cpp's e2e_benchmark.py command line, its markdown
// table parsed by column name, and -o csv/json/jsonl parsed by llama-bench's field names.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <algorithm>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/cli.h"

namespace bitjit {
namespace {

using nlohmann::json;
using testing::BinProgram;
using testing::CliResult;
using testing::SynthTinyModel;

class LlamaBench : public ::testing::Test {
 protected:
  // The tiles measured must not depend on a tuning cache in the user's home.
  void SetUp() override { setenv("BITJIT_TUNING_CACHE", dir_.File("none.textproto").c_str(), 1); }
  void TearDown() override { unsetenv("BITJIT_TUNING_CACHE"); }

  static CliResult Bench(const std::vector<std::string>& args) {
    return testing::RunProgram(BinProgram("llama-bench"), args);
  }

 private:
  testing::TempDir dir_;
};

std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  std::string cell;
  std::getline(in, cell, '|');  // before the first bar
  while (std::getline(in, cell, '|')) {
    const size_t a = cell.find_first_not_of(' '), b = cell.find_last_not_of(' ');
    cells.push_back(a == std::string::npos ? "" : cell.substr(a, b - a + 1));
  }
  return cells;
}

// The table as column name -> cells, one map per data row.
std::vector<std::map<std::string, std::string>> ParseTable(const std::string& out) {
  std::vector<std::string> lines;
  std::stringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("|", 0) == 0) lines.push_back(line);
  std::vector<std::map<std::string, std::string>> rows;
  if (lines.size() < 2) return rows;
  const std::vector<std::string> header = Cells(lines[0]);
  for (size_t i = 2; i < lines.size(); ++i) {
    const std::vector<std::string> cells = Cells(lines[i]);
    std::map<std::string, std::string> row;
    for (size_t c = 0; c < header.size() && c < cells.size(); ++c) row[header[c]] = cells[c];
    rows.push_back(row);
  }
  return rows;
}

// e2e_benchmark.py: llama-bench -m MODEL -n N -ngl 0 -b 1 -t T -p P -r 5
TEST_F(LlamaBench, E2eBenchmarkScriptCommandLine) {
  const CliResult r = Bench({"-m", SynthTinyModel(), "-n", "8", "-ngl", "0", "-b", "1", "-t", "1",
                             "-p", "16", "-r", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = ParseTable(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  const std::regex rate(R"(\d+\.\d\d ± \d+\.\d\d)");
  const std::vector<std::string> tests = {"pp16", "tg8"};
  for (size_t i = 0; i < rows.size(); ++i) {
    auto row = rows[i];
    EXPECT_EQ(row["test"], tests[i]) << r.out;
    EXPECT_EQ(row["threads"], "1");
    EXPECT_EQ(row["n_batch"], "1");  // not llama-bench's default 2048: shown
    EXPECT_EQ(row["backend"], "CPU");
    EXPECT_NE(row["model"], "");
    EXPECT_NE(row["size"].find("iB"), std::string::npos) << row["size"];
    EXPECT_FALSE(row["params"].empty());
    EXPECT_TRUE(std::regex_match(row["t/s"], rate)) << row["t/s"];
    EXPECT_GT(std::stod(row["t/s"]), 0);
  }
}

TEST_F(LlamaBench, DefaultColumnsAreLlamaBenchs) {
  const CliResult r = Bench({"-m", SynthTinyModel(), "-p", "8", "-n", "4", "-r", "1", "-t", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::stringstream in(r.out);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(Cells(header), (std::vector<std::string>{"model", "size", "params", "backend",
                                                     "threads", "test", "t/s"}))
      << r.out;
}

TEST_F(LlamaBench, JsonRowsCarryLlamaBenchFieldNames) {
  const CliResult r = Bench({"-m", SynthTinyModel(), "-p", "8", "-n", "4", "-pg", "8,4", "-r", "3",
                             "-t", "1,2", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json rows = json::parse(r.out);
  ASSERT_TRUE(rows.is_array());
  ASSERT_EQ(rows.size(), 6u) << r.out;  // (pp8, tg4, pp8+tg4) x 2 thread counts
  for (const json& row : rows) {
    for (const char* field :
         {"model_filename", "model_type", "model_size", "model_n_params", "n_batch", "n_ubatch",
          "n_threads", "n_gpu_layers", "flash_attn", "n_prompt", "n_gen", "test_time", "avg_ns",
          "stddev_ns", "avg_ts", "stddev_ts", "samples_ns", "samples_ts"}) {
      EXPECT_TRUE(row.contains(field)) << field;
    }
    EXPECT_EQ(row["model_filename"], SynthTinyModel());
    EXPECT_GT(row["model_size"].get<uint64_t>(), 0u);
    EXPECT_GT(row["model_n_params"].get<uint64_t>(), 0u);
    EXPECT_EQ(row["samples_ts"].size(), 3u);
    EXPECT_GT(row["avg_ts"].get<double>(), 0);
  }
  EXPECT_EQ(rows[0]["n_prompt"], 8);
  EXPECT_EQ(rows[0]["n_gen"], 0);
  EXPECT_EQ(rows[1]["n_gen"], 4);
  EXPECT_EQ(rows[2]["n_prompt"], 8);
  EXPECT_EQ(rows[2]["n_gen"], 4);
  EXPECT_EQ(rows[0]["n_threads"], 1);
  EXPECT_EQ(rows[3]["n_threads"], 2);
}

TEST_F(LlamaBench, JsonlCsvAndThreadRanges) {
  const CliResult jl =
      Bench({"-m", SynthTinyModel(), "-p", "4", "-n", "0", "-r", "1", "-t", "1-2", "-o", "jsonl"});
  ASSERT_EQ(jl.exit_code, 0) << jl.err;
  std::stringstream lines(jl.out);
  std::vector<int> threads;
  for (std::string line; std::getline(lines, line);)
    threads.push_back(json::parse(line)["n_threads"]);
  EXPECT_EQ(threads, (std::vector<int>{1, 2}));

  const CliResult csv =
      Bench({"-m", SynthTinyModel(), "-p", "4", "-n", "2", "-r", "1", "-t", "1", "-o", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  std::stringstream in(csv.out);
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  EXPECT_NE(header.find("model_filename"), std::string::npos) << header;
  EXPECT_NE(header.find("avg_ts"), std::string::npos) << header;
  EXPECT_EQ(std::count(header.begin(), header.end(), ','), std::count(row.begin(), row.end(), ','))
      << csv.out;
}

TEST_F(LlamaBench, BadListsAndFormatsAreOneLineErrors) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"-t", "4-2"}, {"-t", "x"}, {"-p", "8", "-pg", "8"}, {"-o", "sql"}, {"-fa", "2"}}) {
    std::vector<std::string> full = {"-m", SynthTinyModel(), "-r", "1"};
    full.insert(full.end(), args.begin(), args.end());
    const CliResult r = Bench(full);
    EXPECT_EQ(r.exit_code, 2) << args[1];
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST_F(LlamaBench, SeveralModelsByListAndRepetition) {
  const std::string m = SynthTinyModel();
  const CliResult r = Bench(
      {"-m", m + "," + m, "-m", m, "-p", "4", "-n", "0", "-r", "1", "-t", "1", "-o", "jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
}

TEST_F(LlamaBench, FlashAttentionListAddsTheFaColumn) {
  const CliResult r =
      Bench({"-m", SynthTinyModel(), "-p", "4", "-n", "0", "-r", "1", "-t", "1", "-fa", "0,1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = ParseTable(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_EQ(rows[0].at("fa"), "0");
  EXPECT_EQ(rows[1].at("fa"), "1");
}

}  // namespace
}  // namespace bitjit
