// llama-quantize (build/bin/llama-quantize) and bitjit quantize: setup_env.py's command lines on
// the F32 sources of ../shared/golden-more/quantize, whose outputs must equal, byte for byte,
// the files bitnet.cpp's llama-quantize made of them; other target types are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/testing/cli.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

using testing::BinProgram;
using testing::CliResult;
using testing::ReadFile;
using testing::RunProgram;

std::string Golden(const std::string& path) {
  return testing::SharedDir() + "/golden-more/" + path;
}

TEST(LlamaQuantize, SetupEnvCommandLineReproducesBitnetCppsFile) {
  testing::TempDir dir;
  const std::string out = dir.File("ggml-model-i2_s.gguf");
  const CliResult r = RunProgram(BinProgram("llama-quantize"),
                                 {Golden("quantize/llama-gqa.f32.gguf"), out, "I2_S", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string want = ReadFile(Golden("llama-gqa/model.gguf"));
  const std::string got = ReadFile(out);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "first difference at byte "
                           << std::mismatch(got.begin(), got.end(), want.begin()).first -
                                  got.begin();
}

TEST(LlamaQuantize, Q6KTokenEmbeddingsReproduceBitnetCppsFile) {
  testing::TempDir dir;
  const std::string out = dir.File("q6k.gguf");
  const CliResult r = RunProgram(
      BinProgram("llama-quantize"),
      {"--token-embedding-type", "q6_k", Golden("quantize/q6k-embd.f32.gguf"), out, "I2_S", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string want = ReadFile(Golden("q6k-embd/model.gguf"));
  const std::string got = ReadFile(out);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "first difference at byte "
                           << std::mismatch(got.begin(), got.end(), want.begin()).first -
                                  got.begin();
  // bitjit quantize is the same quantizer with bitjit's arguments.
  const std::string own = dir.File("own.gguf");
  const CliResult q = testing::RunCli(
      {"quantize", Golden("quantize/q6k-embd.f32.gguf"), own, "--token-embedding-type", "q6_k"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_TRUE(ReadFile(own) == want);
}

TEST(LlamaQuantize, OtherTypesAndBadArgumentsAreOneLineErrors) {
  testing::TempDir dir;
  const std::string src = Golden("quantize/q6k-embd.f32.gguf");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {src, dir.File("o.gguf"), "Q4_0"},
           {src, dir.File("o.gguf")},
           {src, dir.File("o.gguf"), "I2_S", "zero"},
           {"--token-embedding-type", "q4_k", src, dir.File("o.gguf"), "I2_S"},
           {dir.File("missing.gguf"), dir.File("o.gguf"), "I2_S", "1"}}) {
    const CliResult r = RunProgram(BinProgram("llama-quantize"), args);
    EXPECT_EQ(r.exit_code, 2) << args[2];
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace bitjit
