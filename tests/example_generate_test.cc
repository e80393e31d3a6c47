// examples/generate: the API example runs on the tiny golden model and prints what bitnet.cpp's
// llama-cli printed for the same prompt (cli.txt: prompt, greedy text, "\n\n"). The example is
// built beside the CLI: BITJIT_CLI is <build>/tools/bitjit, the example <build>/examples/generate.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/testing/cli.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {


std::string ExamplePath() {
  return (std::filesystem::path(BITJIT_CLI).parent_path().parent_path() / "examples" / "generate")
      .string();
}

// Runs the example (no shell) with stdout and stderr captured in files.
testing::CliResult RunExample(std::vector<std::string> args) {
  testing::TempDir dir;
  const std::string out = dir.File("out"), err = dir.File("err");
  std::string binary = ExamplePath();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
    ::dup2(::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
    std::vector<char*> argv = {binary.data()};
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  testing::CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = testing::ReadFile(out);
  r.err = testing::ReadFile(err);
  return r;
}

TEST(ExampleGenerate, StreamsBitnetCppsGreedyText) {
  ASSERT_TRUE(std::filesystem::exists(ExamplePath())) << ExamplePath() << " is not built";
  const testing::GoldenCase c = testing::LoadGoldenCase("tiny");
  const auto r = RunExample({c.model_path, c.prompt, std::to_string(c.greedy_ids.size())});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The example prints one "\n" after the text where llama-cli printed two.
  const std::string cli = testing::ReadFile(c.dir + "/cli.txt");
  ASSERT_GT(cli.size(), c.prompt.size() + 2);
  EXPECT_EQ(r.out, cli.substr(0, cli.size() - 1));
  EXPECT_NE(r.err.find("generated: 32 tokens"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tokens/s"), std::string::npos) << r.err;
}

TEST(ExampleGenerate, UsageAndErrors) {
  ASSERT_TRUE(std::filesystem::exists(ExamplePath())) << ExamplePath() << " is not built";
  const auto usage = RunExample({});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("usage:"), std::string::npos) << usage.err;
  const auto missing = RunExample({"/nonexistent/model.gguf"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err.rfind("error: ", 0), 0u) << missing.err;
}

}  // namespace
}  // namespace bitjit
