// llama-cli (build/bin/llama-cli): bitnet.cpp's run_inference.py command lines, unchanged, on a
// small synthetic model, and the llama.cpp flags around them: applied, noted, or refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/testing/cli.h"

namespace bitjit {
namespace {

using testing::BinProgram;
using testing::CliResult;
using testing::SynthTinyModel;

CliResult LlamaCli(std::vector<std::string> args, const std::string& stdin_text = "") {
  return testing::RunProgram(BinProgram("llama-cli"), args, stdin_text);
}

// run_inference.py: llama-cli -m MODEL -n N -t T -p PROMPT -ngl 0 -c CTX --temp X -b 1
TEST(LlamaCli, RunInferenceScriptCommandLine) {
  const CliResult r =
      LlamaCli({"-m", SynthTinyModel(), "-n", "12", "-t", "2", "-p", "Once upon a time", "-ngl",
                "0", "-c", "256", "--temp", "0.8", "-b", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The prompt is echoed, then the generated text follows on stdout.
  ASSERT_EQ(r.out.rfind("Once upon a time", 0), 0u) << r.out;
  EXPECT_GT(r.out.size(), std::string("Once upon a time\n").size()) << r.out;
  // Timings go to stderr, in llama.cpp's words; nothing of them on stdout.
  EXPECT_NE(r.err.find("prompt eval time"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" eval time"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("eval time"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("error"), std::string::npos) << r.err;
}

// run_inference.py -cnv: the prompt becomes the system prompt, turns come on stdin.
TEST(LlamaCli, RunInferenceScriptConversation) {
  const CliResult r =
      LlamaCli({"-m", SynthTinyModel(), "-n", "8", "-t", "2", "-p", "You are a helpful assistant",
                "-ngl", "0", "-c", "256", "--temp", "0.8", "-b", "1", "-cnv"},
               "Hello\nHow are you?\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  EXPECT_EQ(r.out.find("You are a helpful assistant"), std::string::npos) << r.out;
}

// Greedy text does not depend on how the prompt is batched (-b 1 is token by token).
TEST(LlamaCli, PromptBatchSizeDoesNotChangeGreedyText) {
  auto text = [](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {
        "-m", SynthTinyModel(), "-n", "16", "-p", "The quick brown fox jumps", "--temp",
        "0",  "--log-disable"};
    args.insert(args.end(), extra.begin(), extra.end());
    const CliResult r = LlamaCli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");  // --log-disable: no timings
    return r.out;
  };
  const std::string whole = text({});
  EXPECT_EQ(text({"-b", "1"}), whole);
  EXPECT_EQ(text({"--batch-size", "3", "-ub", "2"}), whole);
}

TEST(LlamaCli, LongSpellingsSeedAndNoDisplayPrompt) {
  auto run = [](const std::string& seed) {
    return LlamaCli({"--model",
                     SynthTinyModel(),
                     "--n-predict",
                     "10",
                     "--threads",
                     "1",
                     "--ctx-size",
                     "128",
                     "--prompt",
                     "Hi",
                     "--seed",
                     seed,
                     "--top-k",
                     "20",
                     "--top-p",
                     "0.9",
                     "--min-p",
                     "0.01",
                     "--repeat-penalty",
                     "1.1",
                     "--repeat-last-n",
                     "16",
                     "--no-display-prompt",
                     "--temp",
                     "1.5"});
  };
  const CliResult a = run("7"), b = run("7");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);  // the same seed samples the same text
  EXPECT_NE(a.out.rfind("Hi", 0), 0u) << a.out;
}

TEST(LlamaCli, EscapesAreProcessedUnlessNoEscape) {
  const std::string prompt = "line one\\nline two";
  const CliResult on = LlamaCli({"-m", SynthTinyModel(), "-n", "1", "-p", prompt, "-e"});
  ASSERT_EQ(on.exit_code, 0) << on.err;
  EXPECT_EQ(on.out.rfind("line one\nline two", 0), 0u) << on.out;
  const CliResult off = LlamaCli({"-m", SynthTinyModel(), "-n", "1", "-p", prompt, "--no-escape"});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_EQ(off.out.rfind(prompt, 0), 0u) << off.out;
}

TEST(LlamaCli, ReversePromptStopsGeneration) {
  const std::vector<std::string> base = {
      "-m", SynthTinyModel(),      "-p",           "Hello",        "--temp",
      "0",  "--no-display-prompt", "--ignore-eos", "--log-disable"};
  std::vector<std::string> args = base;
  args.insert(args.end(), {"-n", "24"});
  const CliResult full = LlamaCli(args);
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const std::string text = full.out.substr(0, full.out.size() - 1);  // the closing newline
  ASSERT_GE(text.size(), 4u) << full.out;
  // Two bytes from the middle of the text: generation must stop at their first occurrence.
  const std::string stop = text.substr(text.size() / 2, 2);
  const size_t first = text.find(stop);
  args = base;
  args.insert(args.end(), {"-n", "24", "-r", stop});
  const CliResult cut = LlamaCli(args);
  ASSERT_EQ(cut.exit_code, 0) << cut.err;
  // Generation stops with the token that completes the first occurrence: the output is the
  // full text up to that token.
  const size_t through = first + stop.size();
  ASSERT_GE(cut.out.size(), through + 1) << cut.out;
  EXPECT_EQ(cut.out.substr(0, through), text.substr(0, through));
  EXPECT_LE(cut.out.size(), full.out.size());
}

TEST(LlamaCli, GpuLayersAboveZeroAreNotedOnce) {
  const CliResult r =
      LlamaCli({"-m", SynthTinyModel(), "-n", "2", "-p", "Hi", "-ngl", "99", "--temp", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("runs on the CPU"), std::string::npos) << r.err;
  const CliResult zero =
      LlamaCli({"-m", SynthTinyModel(), "-n", "2", "-p", "Hi", "-ngl", "0", "--temp", "0"});
  EXPECT_EQ(zero.err.find("runs on the CPU"), std::string::npos) << zero.err;
}

TEST(LlamaCli, InertFlagsAreAcceptedAndSaidSoUnderVerbose) {
  const std::vector<std::string> args = {
      "-m",        SynthTinyModel(),  "-n",    "2", "-p", "Hi", "-fa", "--mlock",
      "--no-mmap", "--chat-template", "bitnet"};
  const CliResult quiet = LlamaCli(args);
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("note:"), std::string::npos) << quiet.err;
  std::vector<std::string> verbose = args;
  verbose.push_back("-v");
  const CliResult r = LlamaCli(verbose);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* flag : {"-fa", "--mlock", "--no-mmap"})
    EXPECT_NE(r.err.find(std::string("note: llama-cli: ") + flag), std::string::npos) << r.err;
}

TEST(LlamaCli, FlagsThatWouldChangeResultsAreRefusedByName) {
  for (const auto& [flag, value] :
       std::vector<std::pair<std::string, std::string>>{{"--grammar", "root ::= \"a\""},
                                                        {"--mirostat", "2"},
                                                        {"-ctk", "q8_0"},
                                                        {"--chat-template", "zephyr"}}) {
    const CliResult r = LlamaCli({"-m", SynthTinyModel(), "-p", "Hi", flag, value});
    EXPECT_EQ(r.exit_code, 2) << flag;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(flag == "--chat-template" ? value : flag), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  const CliResult unknown = LlamaCli({"-m", SynthTinyModel(), "-p", "Hi", "--frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("'--frobnicate'"), std::string::npos) << unknown.err;
}

TEST(LlamaCli, UnlimitedPredictionStopsAtTheContext) {
  const CliResult r = LlamaCli(
      {"-m", SynthTinyModel(), "-n", "-1", "-c", "32", "-p", "Hi", "--ignore-eos", "--temp", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("prompt eval time"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace bitjit
