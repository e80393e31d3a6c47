// Differential test: random models from synth (arch bitnet-b1.58 and llama, F16 / Q8_0 / Q6_K
// token_embd, tied and untied output) and random prompts, every JIT path this CPU
// runs (each ISA, each ternary packing it has kernels for, 1 and 2 threads) against the
// reference interpreter, on every logits row of a prompt batch, of decode steps and of
// multi-sequence batches through the batch engine. Both paths reproduce bitnet.cpp's
// roundings and order of additions, so they must agree to the float noise of the lm_head
// (~5e-7), far inside the 1e-4 allowed here; a path that rounds or adds in another place
// shows as rows off by 1e-3 and more on these badly conditioned models (a near-tie in a
// near-hard-argmax attention amplifies one flipped f16 or int8 rounding).
//
// CI runs a fixed list of shapes and seeds. A longer sweep draws more seeds per shape:
//   BITJIT_DIFFERENTIAL_SEEDS=20 ./build/tests/bitjit_tests --gtest_filter='*Differential*'
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/table_quantize.h"
#include "codegen/ternary/ternary_matmul.h"
#include "frontend/gguf/gguf_file.h"
#include "frontend/gguf/gguf_writer.h"
#include "frontend/model/model_config.h"
#include "frontend/synth/synthetic_model.h"
#include "runtime/batch_engine.h"
#include "runtime/model.h"
#include "testing/cli.h"
#include "testing/isa.h"

namespace bitjit {
namespace {

// The layout beyond the dims: the arch, and the output / token_embd types (kAuto: the types
// llama-quantize picks, F16 when n_embd % 256 == 0, else Q8_0).
enum class Output { kTied, kAuto, kF16, kQ8_0 };
enum class Embd { kAuto, kQ6_K };

struct Shape {
  const char* name;
  int64_t n_embd, n_ff, n_layer, n_head, n_head_kv, n_vocab;
  int max_prompt;  // the prompt batch draws 1..max_prompt tokens
  const char* arch = kBitnetArch;
  Output output = Output::kTied;
  Embd embd = Embd::kAuto;
};

// bitnet-b1.58: MHA, GQA of several ratios, one head; head_dim 64, 96, 100, 128, 256; 1 to 3
// layers; F16 token_embd (n_embd % 256 == 0), Q8_0 (otherwise) and Q6_K; an n_ff that is not a
// multiple of 128 (as bitnet_b1_58-3B's 8640). llama (NORM RoPE, SiLU-gated FFN, no sub-norms):
// untied F16 and Q8_0 output.weight and a tied one, head_dim 96, 128 and 256 (Falcon3), a Q6_K
// token_embd beside an untied output.
constexpr Shape kShapes[] = {
    {"mha-h8-d64", 512, 1536, 2, 8, 8, 2048, 64},
    {"mha-h4-d64-l3", 256, 512, 3, 4, 4, 600, 64},
    {"mha-h4-d96", 384, 512, 1, 4, 4, 512, 48},
    {"mha-h32-d100", 3200, 256, 1, 32, 32, 512, 12},
    {"gqa2-d64", 512, 1024, 2, 8, 4, 1024, 64},
    {"gqa4-d128", 512, 768, 2, 4, 1, 768, 64},
    {"gqa5-d128", 1280, 512, 1, 10, 2, 512, 40},
    {"gqa2-d256", 512, 512, 2, 2, 1, 640, 48},
    {"one-head-d128", 128, 256, 2, 1, 1, 512, 64},
    {"ff-k-mod-128-is-64", 256, 576, 2, 4, 4, 512, 48},
    {"q6k-embd-gqa2-d64", 256, 512, 2, 4, 2, 512, 64, kBitnetArch, Output::kTied, Embd::kQ6_K},
    {"llama-gqa2-d128-f16-out", 512, 1536, 2, 4, 2, 768, 64, kLlamaArch, Output::kAuto},
    {"llama-gqa2-d256-falcon3", 512, 1024, 2, 2, 1, 640, 48, kLlamaArch, Output::kAuto},
    {"llama-mha-d96-q8-out", 384, 768, 2, 4, 4, 512, 48, kLlamaArch, Output::kAuto},
    {"llama-gqa4-d128-q8-out", 512, 512, 1, 4, 1, 600, 40, kLlamaArch, Output::kQ8_0},
    {"llama-tied-d64", 256, 512, 2, 4, 2, 512, 64, kLlamaArch, Output::kTied},
    {"llama-q6k-embd-f16-out", 256, 768, 2, 4, 1, 512, 48, kLlamaArch, Output::kF16, Embd::kQ6_K},
};

// gtest prints a failing parameter by this, instead of its bytes.
void PrintTo(const Shape& s, std::ostream* os) {
  *os << s.name;
}

struct Path {
  std::string isa, packing;
  int threads;
  std::string Name() const { return isa + "/" + packing + "/t" + std::to_string(threads); }
};

std::vector<Path> JitPaths() {
  std::vector<Path> paths;
  for (const testing::JitPath& p : testing::JitPathsOfThisCpu()) {
    for (int threads : {1, 2}) {
      paths.push_back({std::string(codegen::IsaName(p.isa)),
                       std::string(codegen::TernaryPackingName(p.packing)), threads});
    }
  }
  return paths;
}

int SeedsPerShape() {
  const char* env = std::getenv("BITJIT_DIFFERENTIAL_SEEDS");
  return env ? std::max(1, std::atoi(env)) : 1;
}

// What one path computed for one model and its inputs: every logits row, in order.
using Rows = std::vector<std::vector<float>>;

struct Inputs {
  std::vector<int32_t> prompt;               // one prompt batch, all rows
  std::vector<int32_t> feed;                 // then one-token decode steps
  std::vector<std::vector<int32_t>> chunks;  // batch engine: 3 sequences, several steps
};

Inputs DrawInputs(const Shape& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto id = [&] { return static_cast<int32_t>(rng() % static_cast<uint64_t>(s.n_vocab)); };
  auto ids = [&](int n) {
    std::vector<int32_t> v(n);
    for (auto& x : v) x = id();
    return v;
  };
  Inputs in;
  in.prompt = ids(1 + static_cast<int>(rng() % static_cast<uint64_t>(s.max_prompt)));
  in.feed = ids(4);
  // Step 1: three prompts of different lengths; step 2: one token each (a decode batch);
  // step 3: a second prompt chunk for sequence 0 while 1 and 2 decode.
  const int n0 = 2 + static_cast<int>(rng() % 12), n1 = 1 + static_cast<int>(rng() % 5);
  in.chunks = {ids(n0), ids(n1), ids(1 + n0 / 2), ids(1), ids(1), ids(1), ids(3), ids(1), ids(1)};
  return in;
}

Rows RunPath(const std::string& model_path, const Path& path, const Inputs& in) {
  ModelOptions options;
  options.isa = path.isa;
  options.n_threads = path.threads;
  if (path.isa != "ref") options.ternary_packing = path.packing;
  auto model = Model::Load(model_path, options);
  Rows rows;
  const int64_t vocab = model->config().n_vocab;
  {
    Session session(*model, 128);
    std::vector<float> logits;
    session.Eval(in.prompt, /*all_rows=*/true, &logits);
    for (size_t r = 0; r < in.prompt.size(); ++r)
      rows.emplace_back(logits.begin() + r * vocab, logits.begin() + (r + 1) * vocab);
    for (int32_t t : in.feed) {
      session.Eval({&t, 1}, /*all_rows=*/false, &logits);
      rows.push_back(logits);
    }
  }
  BatchEngine engine(*model, 3, 64);
  const int slots[3] = {engine.AcquireSlot(), engine.AcquireSlot(), engine.AcquireSlot()};
  for (size_t step = 0; step < in.chunks.size(); step += 3) {
    std::vector<BatchEngine::Work> work;
    for (int i = 0; i < 3; ++i) work.push_back({slots[i], in.chunks[step + i]});
    std::vector<std::vector<float>> logits;
    engine.Step(work, &logits);
    for (auto& l : logits) rows.push_back(std::move(l));
  }
  return rows;
}

std::string WriteModel(const Shape& s, uint64_t seed, const testing::TempDir& dir) {
  synth::SynthConfig c;
  c.name = s.name;
  c.n_embd = s.n_embd;
  c.n_ff = s.n_ff;
  c.n_layer = s.n_layer;
  c.n_head = s.n_head;
  c.n_head_kv = s.n_head_kv;
  c.n_vocab = s.n_vocab;
  c.n_ctx = 256;
  c.seed = seed;
  c.arch = s.arch;
  c.untied_output = s.output != Output::kTied;
  if (s.output == Output::kF16) c.output_type = gguf::GgmlType::kF16;
  if (s.output == Output::kQ8_0) c.output_type = gguf::GgmlType::kQ8_0;
  if (s.embd == Embd::kQ6_K) {
    c.token_embd_type = gguf::GgmlType::kQ6_K;
    c.quantize_q6_k = lm_head::QuantizeRowQ6_K;
  }
  const std::string path = dir.File(std::string(s.name) + "-" + std::to_string(seed) + ".gguf");
  gguf::FileSink sink(path);
  synth::WriteSyntheticModel(c, sink);
  sink.Commit();
  return path;
}

// max|a - b| / max|b| over one row.
double RowRel(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return scale > 0.0 ? diff / scale : diff;
}

class Differential : public ::testing::TestWithParam<Shape> {};

TEST_P(Differential, EveryJitPathMatchesTheInterpreterOnEveryRow) {
  const std::vector<Path> paths = JitPaths();
  if (paths.empty()) GTEST_SKIP() << "no JIT ISA on this CPU";
  const Shape& s = GetParam();
  testing::TempDir dir;
  for (int k = 0; k < SeedsPerShape(); ++k) {
    const uint64_t seed =
        1000 * static_cast<uint64_t>(k) + 17 + std::hash<std::string>{}(s.name) % 997;
    SCOPED_TRACE(std::string(s.name) + " seed " + std::to_string(seed));
    const std::string model = WriteModel(s, seed, dir);
    {  // the file is the layout the shape names
      const ModelConfig config = ModelConfig::FromGguf(*gguf::GgufFile::Open(model));
      ASSERT_EQ(config.arch, s.arch);
      ASSERT_EQ(config.has_output, s.output != Output::kTied);
      if (s.embd == Embd::kQ6_K) {
        ASSERT_EQ(config.token_embd_type, static_cast<uint32_t>(gguf::GgmlType::kQ6_K));
      }
      if (s.output == Output::kQ8_0 || (s.output == Output::kAuto && s.n_embd % 256 != 0)) {
        ASSERT_EQ(config.output_type, static_cast<uint32_t>(gguf::GgmlType::kQ8_0));
      }
    }
    const Inputs in = DrawInputs(s, seed);
    const Rows want = RunPath(model, {"ref", "i2_s", 1}, in);
    for (const Path& path : paths) {
      const Rows got = RunPath(model, path, in);
      ASSERT_EQ(got.size(), want.size()) << path.Name();
      for (size_t r = 0; r < want.size(); ++r) {
        const double rel = RowRel(got[r], want[r]);
        EXPECT_LE(rel, 1e-4) << path.Name() << " row " << r << " of " << want.size() << " ("
                             << in.prompt.size() << " prompt rows, " << in.feed.size()
                             << " decode rows, then batch-engine rows)";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, Differential, ::testing::ValuesIn(kShapes),
                         [](const ::testing::TestParamInfo<Shape>& info) {
                           std::string name = info.param.name;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace bitjit
