// Loading for the JIT path keeps one copy of the weights: once the kernels' layouts are built
// (packed ternary weights, the tiled f16 lm_head), the model file's pages of those tensors are
// dropped, and decoding does not fault them back (embedding lookups touch a row per token).
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "frontend/gguf/gguf_writer.h"
#include "frontend/synth/synthetic_model.h"
#include "runtime/model.h"
#include "tests/testing/cli.h"

namespace bitjit {
namespace {

// Resident kilobytes of this process's mappings of `path` (/proc/self/smaps).
int64_t ResidentKbOf(const std::string& path) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_file = false;
  int64_t total = 0;
  while (std::getline(smaps, line)) {
    if (line.empty()) continue;
    if (std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < line.find(' ')) {
      // A mapping's header: "start-end perms offset dev inode   pathname".
      in_file = line.size() >= path.size() &&
                line.compare(line.size() - path.size(), path.size(), path) == 0;
    } else if (in_file && line.rfind("Rss:", 0) == 0) {
      int64_t kb = 0;
      std::istringstream(line.substr(4)) >> kb;
      total += kb;
    }
  }
  return total;
}

TEST(ModelMemory, JitPathDropsTheFilesCopyOfTheWeights) {
  if (codegen::BestIsa() == codegen::Isa::kRef) GTEST_SKIP() << "no JIT ISA on this CPU";
  testing::TempDir dir;
  const std::string path = dir.File("model.gguf");
  synth::SynthConfig config;  // F16 token_embd: 8 MB of the ~10 MB file
  config.n_embd = 512;
  config.n_ff = 1536;
  config.n_head = 8;
  config.n_head_kv = 2;
  config.n_vocab = 8192;
  {
    gguf::BufferSink sink;
    synth::WriteSyntheticModel(config, sink);
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(sink.bytes().data()),
               static_cast<std::streamsize>(sink.bytes().size()));
  }
  const int64_t file_kb = static_cast<int64_t>(std::ifstream(path, std::ios::ate).tellg()) / 1024;

  // f16: the kernels and embedding lookups read the tiled copy. q6_k: the kernels read the
  // quantized table, embeddings the file's rows, which are dropped again after each lookup.
  for (const char* lm_head : {"f16", "q6_k"}) {
    SCOPED_TRACE(lm_head);
    ModelOptions options;
    options.lm_head = lm_head;
    auto model = Model::Load(path, options);
    Session session(*model, 64);
    std::vector<float> logits;
    session.Eval(std::vector<int32_t>{1, 2, 3, 4}, false, &logits);
    // Tokens spread over the whole table, as a conversation's are.
    for (int32_t id = 5; id < config.n_vocab; id += 397) {
      session.Eval(std::vector<int32_t>{id}, false, &logits);
    }
    ASSERT_EQ(static_cast<int64_t>(logits.size()), config.n_vocab);
    for (float v : logits) ASSERT_TRUE(std::isfinite(v));
    // What stays: norms and what the kernel maps around them.
    const int64_t resident_kb = ResidentKbOf(path);
    EXPECT_LT(resident_kb, file_kb / 10)
        << resident_kb << " KB of the " << file_kb << " KB file still resident";
  }
}

}  // namespace
}  // namespace bitjit
