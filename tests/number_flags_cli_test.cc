// Numbers on the command line that used to be accepted and then ran for minutes, reserved
// terabytes or were silently ignored: each is now a one-line error naming the flag, or runs
// under an explicit override.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "tests/server/server_process.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

using testing::RunCli;

std::string Tiny() {
  return testing::SharedDir() + "/golden/tiny/model.gguf";
}

struct Refusal {
  std::vector<std::string> args;
  const char* message;  // a part of the one-line error
};

void ExpectRefused(const std::vector<Refusal>& cases) {
  for (const Refusal& c : cases) {
    std::string line;
    for (const std::string& a : c.args) line += a + " ";
    SCOPED_TRACE(line);
    const testing::CliResult r = RunCli(c.args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

// `bitjit serve ARGS` must exit with the one-line error; run as a server (bounded in time), since
// the code before the fix started serving.
void ExpectServeRefused(const std::vector<std::string>& args, const char* message) {
  testing::ServerProcess server(args, std::chrono::seconds(30));
  EXPECT_EQ(server.port(), 0) << "it started serving";
  const std::string log = server.Log();
  EXPECT_EQ(server.Terminate(std::chrono::seconds(10)), 2) << log;
  EXPECT_EQ(log.rfind("error: ", 0), 0u) << log;
  EXPECT_NE(log.find(message), std::string::npos) << log;
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
}

TEST(NumberFlags, ThreadCountsHaveAnUpperBound) {
  ExpectRefused({
      {{"run", "-m", Tiny(), "-p", "hi", "-n", "1", "-t", "100000"}, "-t 100000 is more than"},
      {{"bench", "-m", Tiny(), "-p", "8", "-n", "1", "-r", "1", "-t", "1,100000"},
       "-t 100000 is more than"},
      {{"tune", "-m", Tiny(), "-t", "100000"}, "-t 100000 is more than"},
  });
}

// NaN compares false with everything, so range checks written as "refuse if x < 0" let it
// through; infinities are refused as well.
TEST(NumberFlags, SamplingParametersMustBeFiniteAndInRange) {
  const std::vector<std::string> run = {"run", "-m", Tiny(), "-p", "hi", "-n", "1"};
  std::vector<Refusal> cases;
  for (const auto& [flag, value] :
       std::vector<std::pair<std::string, std::string>>{{"--temp", "nan"},
                                                        {"--temp", "inf"},
                                                        {"--top-p", "nan"},
                                                        {"--min-p", "nan"},
                                                        {"--repeat-penalty", "nan"},
                                                        {"--repeat-penalty", "inf"}}) {
    Refusal c{run, nullptr};
    c.args.insert(c.args.end(), {flag, value});
    c.message = flag == "--temp"    ? "--temp must be"
                : flag == "--top-p" ? "--top-p must be"
                : flag == "--min-p" ? "--min-p must be"
                                    : "--repeat-penalty must be";
    cases.push_back(c);
  }
  ExpectRefused(cases);
}

// The tiny model was trained on 256 positions.
TEST(NumberFlags, ContextBeyondTheTrainedOneNeedsAnOverride) {
  ExpectRefused({
      {{"run", "-m", Tiny(), "-p", "hi", "-n", "1", "-c", "4194304"},
       "-c 4194304 is beyond the model's trained context of 256 tokens"},
      {{"bench", "-m", Tiny(), "-p", "100000", "-n", "1", "-r", "1", "-t", "1"},
       "-p 100000 is beyond the model's trained context of 256 tokens"},
      {{"bench", "-m", Tiny(), "-p", "8", "-n", "100000", "-r", "1", "-t", "1"},
       "-n 100000 (+1 prompt token) is beyond"},
  });
  ExpectServeRefused({"-m", Tiny(), "--parallel", "64", "-c", "100000"},
                     "-c 100000 is beyond the model's trained context");
  const testing::CliResult r = RunCli({"run", "-m", Tiny(), "-p", "hi", "-n", "2", "--temp", "0",
                                       "-c", "1024", "--allow-long-context"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// 256 slots of 4M tokens of float32 K and V in the tiny model: 2 TiB, more than any machine
// these tests run on. Refused before the scheduler reserves any of it.
TEST(NumberFlags, ServeRefusesAKvReservationBeyondMemory) {
  ExpectServeRefused({"-m", Tiny(), "--numerics", "f32", "--parallel", "256", "-c", "4194304",
                      "--allow-long-context"},
                     "-c 4194304 for 256 slots needs 2199023255552 bytes of KV cache, more than "
                     "this machine's");
}

// Each waiting request holds a connection thread: 100,000,000 of them made 32k threads, then
// aborted.
TEST(NumberFlags, ServeQueueHasAnUpperBound) {
  ExpectServeRefused({"-m", Tiny(), "--queue", "100000000"}, "--queue must be in -1..1024");
}

// A plan runs the kernels and numerics it was compiled with; these flags would be ignored. (The
// check comes before the plan is read, so no plan is needed.)
TEST(NumberFlags, IsaAndNumericsAreRefusedWithAPlan) {
  testing::TempDir dir;
  const std::string plan = dir.File("none.plan");
  ExpectRefused({
      {{"run", "--plan", plan, "-p", "hi", "--isa", "avx2"}, "--isa does not apply to --plan"},
      {{"run", "--plan", plan, "-p", "hi", "--numerics", "bitnet"},
       "--numerics does not apply to --plan"},
      {{"bench", "--plan", plan, "--isa", "ref"}, "--isa does not apply to --plan"},
  });
}

}  // namespace
}  // namespace bitjit
