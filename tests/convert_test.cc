// bitjit convert: Hugging Face checkpoints written here from synth models (safetensors of the
// model's own weights, config.json, tokenizer.json or, for a SentencePiece vocabulary,
// tokenizer.model from its vocabulary) convert back to the
// synth file itself: the same header byte for byte (keys, values, tokenizer, tensor infos), the
// same tensor data (I2_S codes and scales), and so the same logits from bitjit. Also: master
// (unquantized) weights, sharded checkpoints, and malformed directories.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "frontend/gguf/gguf_file.h"
#include "frontend/gguf/gguf_writer.h"
#include "frontend/i2s/i2s_codec.h"
#include "frontend/model/model_config.h"
#include "frontend/synth/builtin_vocab.h"
#include "frontend/synth/spm_vocab.h"
#include "frontend/synth/synthetic_model.h"
#include "frontend/tokenizer/tokenizer.h"
#include "ir/base/error.h"
#include "ir/base/half.h"
#include "runtime/model.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"
#include "tests/testing/safetensors_writer.h"
#include "tests/testing/sentencepiece_writer.h"

namespace bitjit {
namespace {

using nlohmann::json;
using testing::StTensor;

struct HfNames {
  std::string gguf, hf;
};

// The HF name of each GGUF tensor (the converter's mapping, backwards).
std::string HfName(const std::string& gguf) {
  if (gguf == "token_embd.weight") return "model.embed_tokens.weight";
  if (gguf == "output.weight") return "lm_head.weight";
  if (gguf == "output_norm.weight") return "model.norm.weight";
  const size_t dot = gguf.find('.', 4);
  const std::string layer = gguf.substr(4, dot - 4), rest = gguf.substr(dot + 1);
  static const std::pair<const char*, const char*> kMap[] = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"attn_sub_norm.weight", "self_attn.attn_sub_norm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},
      {"ffn_sub_norm.weight", "mlp.ffn_sub_norm.weight"},
  };
  for (const auto& [g, h] : kMap)
    if (rest == g) return "model.layers." + layer + "." + h;
  ADD_FAILURE() << "no HF name for " << gguf;
  return gguf;
}

// A weight_scale ws whose float reciprocal is exactly `scale` (the converter divides by it).
float ExactInverse(float scale) {
  float ws = 1.0f / scale;
  for (int step = 0; step < 64 && 1.0f / ws != scale; ++step) {
    ws = std::nextafter(ws, (1.0f / ws > scale) ? INFINITY : 0.0f);
  }
  EXPECT_EQ(1.0f / ws, scale);
  return ws;
}

enum class Weights { kPacked, kMasters, kBf16Masters };

// x rounded to BF16 by truncation (exact for the values the tests write).
float TruncateToBf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits &= 0xFFFF0000u;
  std::memcpy(&x, &bits, 4);
  return x;
}

// The model keys of a GGUF (synth's, or a converter's F32 file, which ModelConfig refuses).
struct Dims {
  bool llama, has_output;
  int64_t n_embd, n_ff, n_layer, n_head, n_head_kv, n_vocab, n_ctx, bos, eos;
  std::optional<int64_t> pad;  // SentencePiece vocabularies have none
  double rms_eps, rope_base;
};
Dims DimsOf(const gguf::GgufFile& g) {
  const std::string arch(g.GetString("general.architecture"));
  const auto u = [&](const char* k) { return static_cast<int64_t>(g.GetU64(arch + "." + k)); };
  std::optional<int64_t> pad;
  if (g.Find("tokenizer.ggml.padding_token_id") != nullptr) {
    pad = static_cast<int64_t>(g.GetU64("tokenizer.ggml.padding_token_id"));
  }
  return {arch == kLlamaArch,
          g.FindTensor("output.weight") != nullptr,
          u("embedding_length"),
          u("feed_forward_length"),
          u("block_count"),
          u("attention.head_count"),
          u("attention.head_count_kv"),
          static_cast<int64_t>(g.GetStringArray("tokenizer.ggml.tokens").size()),
          u("context_length"),
          static_cast<int64_t>(g.GetU64("tokenizer.ggml.bos_token_id")),
          static_cast<int64_t>(g.GetU64("tokenizer.ggml.eos_token_id")),
          pad,
          g.GetF64(arch + ".attention.layer_norm_rms_epsilon"),
          g.GetF64(arch + ".rope.freq_base")};
}

// Writes the HF checkpoint of a synth GGUF. kPacked: projections as U8 codes + weight_scale
// (2B-4T's / Falcon3's offline format); kMasters: F32 masters w·scale.
std::vector<StTensor> HfTensors(const gguf::GgufFile& g, Weights weights) {
  const Dims c = DimsOf(g);
  std::vector<StTensor> out;
  for (const gguf::TensorInfo& t : g.tensors()) {
    const std::string name(t.name), hf = HfName(name);
    const uint64_t cols = t.ne[0], rows = t.n_dims > 1 ? t.ne[1] : 0;
    const bool projection =
        name.find("attn_") != std::string::npos && !name.ends_with("norm.weight")
            ? true
            : name.find("ffn_") != std::string::npos && !name.ends_with("norm.weight");
    if (t.type == static_cast<uint32_t>(gguf::GgmlType::kF32) && !(projection && t.n_dims == 2)) {
      if (t.n_dims == 1) {
        out.push_back({hf, "F32", {cols}, {t.data.begin(), t.data.end()}});
      } else {
        out.push_back({hf, "F32", {rows, cols}, {t.data.begin(), t.data.end()}});
      }
      continue;
    }
    if (t.type == static_cast<uint32_t>(gguf::GgmlType::kF16)) {
      out.push_back({hf, "F16", {rows, cols}, {t.data.begin(), t.data.end()}});
      continue;
    }
    if (t.type == static_cast<uint32_t>(gguf::GgmlType::kQ8_0)) {
      // The Q8_0 values d·q as F32: llama-quantize's Q8_0 of them gives back d and q exactly.
      std::vector<float> x(t.n_elements());
      for (uint64_t b = 0; b < x.size() / 32; ++b) {
        uint16_t dh;
        std::memcpy(&dh, t.data.data() + 34 * b, 2);
        for (int j = 0; j < 32; ++j)
          x[32 * b + j] = HalfToFloat(dh) * static_cast<int8_t>(t.data[34 * b + 2 + j]);
      }
      out.push_back({hf, "F32", {rows, cols}, testing::F32Bytes(x)});
      continue;
    }
    std::vector<int8_t> w;
    float scale = 0.0f;
    if (t.type == static_cast<uint32_t>(gguf::GgmlType::kF32)) {
      // A converter's F32 file: ternarized values 0 and +-scale.
      std::vector<float> x(t.n_elements());
      std::memcpy(x.data(), t.data.data(), x.size() * 4);
      const i2s::Quantized q = i2s::QuantizeTernarized(x);
      w = q.weights;
      scale = q.scale;
    } else {
      EXPECT_EQ(t.type, static_cast<uint32_t>(gguf::GgmlType::kI2_S)) << name;
      w = i2s::DecodeWeights(t.data, t.n_elements());
      scale = i2s::DecodeScale(t.data, t.n_elements());
    }
    // arch llama: undo the converter's q/k permutation (HF row j·d/2 + i is GGUF row 2i + j).
    const int heads = !c.llama                          ? 0
                      : name.ends_with("attn_q.weight") ? static_cast<int>(c.n_head)
                      : name.ends_with("attn_k.weight") ? static_cast<int>(c.n_head_kv)
                                                        : 0;
    if (heads > 0) {
      std::vector<int8_t> hfw(w.size());
      const uint64_t d = rows / heads, half = d / 2;
      for (uint64_t h = 0; h < uint64_t(heads); ++h)
        for (uint64_t i = 0; i < half; ++i)
          for (uint64_t j = 0; j < 2; ++j)
            std::memcpy(&hfw[(h * d + j * half + i) * cols], &w[(h * d + 2 * i + j) * cols], cols);
      w = hfw;
    }
    if (weights != Weights::kPacked) {
      std::vector<float> m(w.size());
      for (size_t i = 0; i < w.size(); ++i) m[i] = w[i] * scale;
      if (weights == Weights::kMasters) {
        out.push_back({hf, "F32", {rows, cols}, testing::F32Bytes(m)});
      } else {
        out.push_back({hf, "BF16", {rows, cols}, testing::Bf16Bytes(m)});
      }
      continue;
    }
    std::vector<uint8_t> packed(rows / 4 * cols, 0);
    for (uint64_t i = 0; i < 4; ++i)
      for (uint64_t r = 0; r < rows / 4; ++r)
        for (uint64_t k = 0; k < cols; ++k)
          packed[r * cols + k] |=
              static_cast<uint8_t>((w[(i * rows / 4 + r) * cols + k] + 1) << (2 * i));
    out.push_back({hf, "U8", {rows / 4, cols}, packed});
    const std::string stem = hf.substr(0, hf.size() - 7);
    out.push_back({stem + ".weight_scale", "F32", {1}, testing::F32Bytes({ExactInverse(scale)})});
  }
  return out;
}

void WriteJson(const std::string& path, const json& j) {
  std::ofstream(path) << j.dump(1);
}

bool IsSentencePiece(const gguf::GgufFile& g) {
  return g.GetString("tokenizer.ggml.model") == "llama";
}

// The tokenizer.model of a SentencePiece GGUF vocabulary: its pieces without the trailing
// "[PADi]" fillers (UNUSED), which the converter adds back up to config.json's vocab_size.
testing::SpModelSpec SpmSpecOf(const gguf::GgufFile& g) {
  const auto tokens = g.GetStringArray("tokenizer.ggml.tokens");
  const auto scores = gguf::ArrayElements<float>(g.GetArray("tokenizer.ggml.scores"));
  const auto types = gguf::ArrayElements<int32_t>(g.GetArray("tokenizer.ggml.token_type"));
  size_t n = tokens.size();
  while (n > 0 && types[n - 1] == synth::kTokenUnused && tokens[n - 1].starts_with("[PAD")) --n;
  testing::SpModelSpec spec;
  for (size_t i = 0; i < n; ++i)
    spec.pieces.push_back({std::string(tokens[i]), scores[i], types[i]});
  return spec;
}

// tokenizer.model, and the sentencepiece-style tokenizer.json LLaMA checkpoints ship next to it
// (which the converter does not read when there is a tokenizer.model).
void WriteSpmTokenizer(const gguf::GgufFile& g, const std::string& dir) {
  const std::vector<uint8_t> model = testing::SentencePieceModelBytes(SpmSpecOf(g));
  std::ofstream(dir + "/tokenizer.model", std::ios::binary)
      .write(reinterpret_cast<const char*>(model.data()), model.size());
  const auto tokens = g.GetStringArray("tokenizer.ggml.tokens");
  json vocab = json::object();
  for (size_t i = 0; i < tokens.size(); ++i) vocab[std::string(tokens[i])] = i;
  json added = json::array();
  for (const char* key : {"tokenizer.ggml.unknown_token_id", "tokenizer.ggml.bos_token_id",
                          "tokenizer.ggml.eos_token_id"}) {
    const uint64_t id = g.GetU64(key);
    added.push_back({{"id", id}, {"content", std::string(tokens[id])}, {"special", true}});
  }
  WriteJson(dir + "/tokenizer.json",
            {{"added_tokens", added},
             {"model", {{"type", "BPE"}, {"byte_fallback", true}, {"vocab", vocab}}}});
}

// config.json, tokenizer.json (or tokenizer.model) and tokenizer_config.json of a synth GGUF's
// model.
void WriteHfMetadata(const gguf::GgufFile& g, const std::string& dir) {
  const Dims c = DimsOf(g);
  const bool spm = IsSentencePiece(g);
  // 1bitLLM's SentencePiece checkpoints spell the architecture BitnetForCausalLM.
  json config = {
      {"architectures",
       {c.llama ? "LlamaForCausalLM"
        : spm   ? "BitnetForCausalLM"
                : "BitNetForCausalLM"}},
      {"hidden_size", c.n_embd},
      {"intermediate_size", c.n_ff},
      {"num_hidden_layers", c.n_layer},
      {"num_attention_heads", c.n_head},
      {"num_key_value_heads", c.n_head_kv},
      {"vocab_size", c.n_vocab},
      {"max_position_embeddings", c.n_ctx},
      {"rms_norm_eps", c.rms_eps},
      {"rope_theta", c.rope_base},
      {"tie_word_embeddings", !c.has_output},
      {"bos_token_id", c.bos},
      {"eos_token_id", c.eos},
  };
  if (c.pad) config["pad_token_id"] = *c.pad;
  WriteJson(dir + "/config.json", config);
  const auto tokens = g.GetStringArray("tokenizer.ggml.tokens");
  json tc = {{"add_bos_token", g.GetBool("tokenizer.ggml.add_bos_token")},
             {"bos_token", std::string(tokens[c.bos])},
             {"eos_token", std::string(tokens[c.eos])}};
  if (const gguf::Value* t = g.Find("tokenizer.chat_template")) {
    tc["chat_template"] = std::string(t->AsString("tokenizer.chat_template"));
  }
  if (spm) {
    tc["unk_token"] = std::string(tokens[g.GetU64("tokenizer.ggml.unknown_token_id")]);
    WriteJson(dir + "/tokenizer_config.json", tc);
    WriteSpmTokenizer(g, dir);
    return;
  }
  WriteJson(dir + "/tokenizer_config.json", tc);
  const auto types = gguf::ArrayElements<int32_t>(g.GetArray("tokenizer.ggml.token_type"));
  json vocab = json::object(), added = json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string tok(tokens[i]);
    if (types[i] == synth::kTokenNormal) vocab[tok] = i;
    // CONTROL tokens are special added tokens; the [PADi] fillers are ids the tokenizer lacks.
    if (types[i] == synth::kTokenControl)
      added.push_back({{"id", i}, {"content", tok}, {"special", true}});
  }
  json merges = json::array();
  for (std::string_view m : g.GetStringArray("tokenizer.ggml.merges")) merges.push_back(m);
  WriteJson(dir + "/tokenizer.json",
            {{"added_tokens", added},
             {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}});
}

std::vector<uint8_t> Synth(const synth::SynthConfig& c) {
  gguf::BufferSink sink;
  synth::WriteSyntheticModel(c, sink);
  return std::move(sink.bytes());
}

std::string ReadAll(const std::string& path) {
  return testing::ReadFile(path);
}

// Every logits row of a prompt batch and two decode steps.
std::vector<float> Logits(const std::string& model_path, const std::string& isa) {
  ModelOptions options;
  options.isa = isa;
  options.n_threads = 1;
  auto model = Model::Load(model_path, options);
  Session session(*model, 64);
  std::vector<float> all, logits;
  const std::vector<int32_t> prompt = {1, 7, 42, 3, 100, 5};
  session.Eval(prompt, /*all_rows=*/true, &logits);
  all = logits;
  for (int32_t t : {9, 11}) {
    session.Eval({&t, 1}, /*all_rows=*/false, &logits);
    all.insert(all.end(), logits.begin(), logits.end());
  }
  return all;
}

testing::CliResult Convert(const std::string& dir, const std::string& out,
                           std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"convert", dir, "-o", out, "--quiet"};
  args.insert(args.end(), more.begin(), more.end());
  return testing::RunCli(args);
}

struct Case {
  const char* name;
  synth::SynthConfig config;
};

std::vector<Case> Cases() {
  synth::SynthConfig bitnet;  // tiny: bitnet-b1.58, GQA, tied F16
  bitnet.n_layer = 2;
  bitnet.seed = 3;
  synth::SynthConfig llama = synth::Preset("llama-tiny");  // untied F16 output, GQA 2:1
  llama.n_embd = 256;
  llama.n_ff = 512;
  llama.n_vocab = 400;
  llama.seed = 4;
  synth::SynthConfig llama_q8 = llama;  // n_embd % 256 != 0: Q8_0 output.weight
  llama_q8.n_embd = 384;
  llama_q8.n_head = 4;
  llama_q8.n_head_kv = 1;
  llama_q8.name = "llama-q8";
  synth::SynthConfig bitnet_q8 = bitnet;  // tied Q8_0 token_embd, MHA
  bitnet_q8.n_embd = 384;
  bitnet_q8.n_head = 4;
  bitnet_q8.n_head_kv = 4;
  bitnet_q8.name = "bitnet-q8";
  // SentencePiece vocabularies: 1bitLLM's bitnet_b1_58 (bitnet-b1.58, MHA) and a llama.
  synth::SynthConfig bitnet_spm = synth::Preset("bitnet-0.7b");
  bitnet_spm.n_embd = 256;
  bitnet_spm.n_ff = 512;
  bitnet_spm.n_layer = 2;
  bitnet_spm.n_head = 4;
  bitnet_spm.n_head_kv = 4;
  bitnet_spm.n_vocab = 512;
  bitnet_spm.n_ctx = 256;
  bitnet_spm.seed = 5;
  bitnet_spm.name = "bitnet-spm";
  synth::SynthConfig llama_spm = llama;
  llama_spm.vocab = synth::SynthConfig::Vocab::kSpm;
  llama_spm.name = "llama-spm";
  return {{"bitnet", bitnet},
          {"llama", llama},
          {"llama-q8-output", llama_q8},
          {"bitnet-q8-embd", bitnet_q8},
          {"bitnet-spm", bitnet_spm},
          {"llama-spm", llama_spm}};
}

TEST(Convert, OfflineQuantizedCheckpointsConvertBackToTheSynthFile) {
  for (const Case& k : Cases()) {
    SCOPED_TRACE(k.name);
    testing::TempDir tmp;
    const std::vector<uint8_t> want_bytes = Synth(k.config);
    const std::string want_path = tmp.File("want.gguf");
    std::ofstream(want_path, std::ios::binary)
        .write(reinterpret_cast<const char*>(want_bytes.data()), want_bytes.size());
    auto want = gguf::GgufFile::FromBuffer(want_bytes);
    // The converter names the model after the directory.
    const std::string dir = tmp.File(k.config.name);
    std::filesystem::create_directory(dir);
    WriteHfMetadata(*want, dir);
    testing::WriteSafetensors(dir + "/model.safetensors", HfTensors(*want, Weights::kPacked));
    const std::string out = tmp.File("out.gguf");
    const testing::CliResult r = Convert(dir, out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string got_bytes = ReadAll(out);
    auto got = gguf::GgufFile::Open(out);
    ASSERT_EQ(got_bytes.size(), want_bytes.size());
    EXPECT_TRUE(std::equal(want_bytes.begin(), want_bytes.begin() + want->data_offset(),
                           reinterpret_cast<const uint8_t*>(got_bytes.data())))
        << "header (keys, tokenizer, tensor infos)";
    for (size_t i = 0; i < want->tensors().size(); ++i) {
      const gguf::TensorInfo& a = got->tensors()[i];
      const gguf::TensorInfo& b = want->tensors()[i];
      // I2_S: the packed codes and the scale; the trailer's other 28 bytes are unspecified.
      const size_t n = b.type == static_cast<uint32_t>(gguf::GgmlType::kI2_S)
                           ? b.n_elements() / 4 + 4
                           : b.n_bytes;
      EXPECT_TRUE(std::equal(b.data.begin(), b.data.begin() + n, a.data.begin())) << b.name;
    }
    for (const std::string isa : {"ref", ""}) {
      EXPECT_EQ(Logits(out, isa), Logits(want_path, isa)) << "isa " << (isa.empty() ? "jit" : isa);
    }
  }
}

// A checkpoint directory of a synth model in `root`/`name`; returns its path.
std::string WriteCheckpoint(const gguf::GgufFile& g, const std::string& dir, Weights weights) {
  std::filesystem::create_directories(dir);
  WriteHfMetadata(g, dir);
  testing::WriteSafetensors(dir + "/model.safetensors", HfTensors(g, weights));
  return dir;
}

// Master weights (F32, w·scale) are ternarized as the converter's weight_quant: the codes come
// back unchanged and the scale becomes mean|W| (= scale · the share of nonzero weights).
TEST(Convert, MasterWeightsAreTernarizedLikeTheConverter) {
  for (const Case& k : Cases()) {
    if (std::string(k.name) != "bitnet" && std::string(k.name) != "llama") continue;
    for (const Weights weights : {Weights::kMasters, Weights::kBf16Masters}) {
      SCOPED_TRACE(std::string(k.name) + (weights == Weights::kMasters ? " f32" : " bf16"));
      testing::TempDir tmp;
      const std::vector<uint8_t> want_bytes = Synth(k.config);
      auto want = gguf::GgufFile::FromBuffer(want_bytes);
      const std::string dir = WriteCheckpoint(*want, tmp.File(k.config.name), weights);
      const std::string out = tmp.File("out.gguf");
      const testing::CliResult r = Convert(dir, out);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      auto got = gguf::GgufFile::Open(out);
      int checked = 0;
      for (const gguf::TensorInfo& b : want->tensors()) {
        if (b.type != static_cast<uint32_t>(gguf::GgmlType::kI2_S)) continue;
        const gguf::TensorInfo* a = got->FindTensor(b.name);
        ASSERT_NE(a, nullptr);
        const uint64_t n = b.n_elements();
        EXPECT_EQ(i2s::DecodeCodes(a->data, n), i2s::DecodeCodes(b.data, n)) << b.name;
        const std::vector<int8_t> w = i2s::DecodeWeights(b.data, n);
        const uint64_t nonzero = n - std::count(w.begin(), w.end(), 0);
        // |W| of every nonzero master: the scale, truncated for a BF16 checkpoint.
        const float scale = i2s::DecodeScale(b.data, n);
        const float magnitude = weights == Weights::kBf16Masters ? TruncateToBf16(scale) : scale;
        // sum|W| is exact in double; mean in float; s = 1/mean; the ternary value is 1/s.
        const float mean =
            static_cast<float>(static_cast<double>(magnitude) * nonzero / static_cast<double>(n));
        EXPECT_EQ(i2s::DecodeScale(a->data, n), 1.0f / (1.0f / mean))
            << b.name << " scale " << scale << " magnitude " << magnitude;
        ++checked;
      }
      EXPECT_EQ(checked, 7 * k.config.n_layer);
    }
  }
}

// Shards listed by model.safetensors.index.json read as one checkpoint (bitnet-b1.58's tensor
// order is canonical, so the file is the single-file one byte for byte); the index is input too.
TEST(Convert, ShardedCheckpoints) {
  testing::TempDir tmp;
  const Case k = Cases()[0];
  const std::vector<uint8_t> want_bytes = Synth(k.config);
  auto want = gguf::GgufFile::FromBuffer(want_bytes);
  const std::string single =
      WriteCheckpoint(*want, tmp.File("one/" + k.config.name), Weights::kPacked);
  const std::string sharded = tmp.File("two/" + k.config.name);
  std::filesystem::create_directories(sharded);
  WriteHfMetadata(*want, sharded);
  const std::vector<StTensor> all = HfTensors(*want, Weights::kPacked);
  const std::vector<StTensor> a(all.begin(), all.begin() + all.size() / 2),
      b(all.begin() + all.size() / 2, all.end());
  testing::WriteSafetensors(sharded + "/model-00001-of-00002.safetensors", a);
  testing::WriteSafetensors(sharded + "/model-00002-of-00002.safetensors", b);
  json map = json::object();
  for (const StTensor& t : a) map[t.name] = "model-00001-of-00002.safetensors";
  for (const StTensor& t : b) map[t.name] = "model-00002-of-00002.safetensors";
  WriteJson(sharded + "/model.safetensors.index.json", {{"weight_map", map}});
  const testing::CliResult r1 = Convert(single, tmp.File("one.gguf"));
  const testing::CliResult r2 = Convert(sharded, tmp.File("two.gguf"));
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_EQ(ReadAll(tmp.File("one.gguf")), ReadAll(tmp.File("two.gguf")));

  // An index that points out of the directory, or at a tensor its shard lacks.
  map[a[0].name] = "../one/" + k.config.name + "/model.safetensors";
  WriteJson(sharded + "/model.safetensors.index.json", {{"weight_map", map}});
  EXPECT_NE(Convert(sharded, tmp.File("bad.gguf")).err.find("is not a file of"), std::string::npos);
  map[a[0].name] = "model-00002-of-00002.safetensors";
  WriteJson(sharded + "/model.safetensors.index.json", {{"weight_map", map}});
  EXPECT_NE(Convert(sharded, tmp.File("bad.gguf")).err.find("not listed for this shard"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(tmp.File("bad.gguf")));
}

// tokenizer.ggml.pre: llama-bpe for Llama-3's split rule, a forced name, or none; the chat
// template and add_eos_token of tokenizer_config.json are kept where the converter puts them.
TEST(Convert, PreTokenizerAndChatTemplate) {
  testing::TempDir tmp;
  const Case k = Cases()[1];  // llama
  const std::vector<uint8_t> bytes = Synth(k.config);
  auto g = gguf::GgufFile::FromBuffer(bytes);
  const std::string dir = WriteCheckpoint(*g, tmp.File(k.config.name), Weights::kPacked);
  json tok = json::parse(ReadAll(dir + "/tokenizer.json"));
  // As Llama-3's tokenizer.json has it (the JSON holds the backslashes escaped).
  const std::string llama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  tok["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", llama3}}}}, {{"type", "ByteLevel"}}}}};
  WriteJson(dir + "/tokenizer.json", tok);
  json tc = json::parse(ReadAll(dir + "/tokenizer_config.json"));
  tc["chat_template"] = "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}";
  tc["add_eos_token"] = false;
  WriteJson(dir + "/tokenizer_config.json", tc);
  ASSERT_EQ(Convert(dir, tmp.File("a.gguf")).exit_code, 0);
  auto a = gguf::GgufFile::Open(tmp.File("a.gguf"));
  EXPECT_EQ(a->GetString("tokenizer.ggml.pre"), "llama-bpe");
  EXPECT_EQ(a->kvs()[14].key, "tokenizer.ggml.pre");  // right after tokenizer.ggml.model
  EXPECT_EQ(a->GetString("tokenizer.chat_template"), tc["chat_template"].get<std::string>());
  EXPECT_FALSE(a->GetBool("tokenizer.ggml.add_eos_token"));
  EXPECT_EQ(a->kvs().back().key, "general.quantization_version");
  ASSERT_EQ(Convert(dir, tmp.File("b.gguf"), {"--pre", "falcon3"}).exit_code, 0);
  EXPECT_EQ(gguf::GgufFile::Open(tmp.File("b.gguf"))->GetString("tokenizer.ggml.pre"), "falcon3");
  // The converted file loads and tokenizes with the rule the key names.
  EXPECT_NO_THROW(Model::Load(tmp.File("a.gguf")));
}

const Case& CaseNamed(std::string_view name) {
  static const std::vector<Case> cases = Cases();
  for (const Case& k : cases)
    if (k.name == name) return k;
  ADD_FAILURE() << "no case " << name;
  return cases[0];
}

// A SentencePiece checkpoint (1bitLLM's layout: tokenizer.model next to a byte_fallback
// tokenizer.json): the GGUF vocabulary is synth's SpmVocab piece for piece, and bitjit's
// tokenizer gives the same ids on it as on synth's own file.
TEST(Convert, SentencePieceVocabularyAndTokenizer) {
  const Case& k = CaseNamed("bitnet-spm");
  testing::TempDir tmp;
  const std::vector<uint8_t> want_bytes = Synth(k.config);
  auto want = gguf::GgufFile::FromBuffer(want_bytes);
  const std::string dir = WriteCheckpoint(*want, tmp.File(k.config.name), Weights::kPacked);
  const testing::CliResult r = Convert(dir, tmp.File("out.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto got = gguf::GgufFile::Open(tmp.File("out.gguf"));
  const synth::Vocab source = synth::SpmVocab(k.config.n_vocab);
  const int32_t bos = static_cast<int32_t>(source.bos_id),
                eos = static_cast<int32_t>(source.eos_id),
                unk = static_cast<int32_t>(source.unk_id);
  const auto tokens = got->GetStringArray("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), source.tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) EXPECT_EQ(tokens[i], source.tokens[i]) << i;
  EXPECT_EQ(gguf::ArrayElements<float>(got->GetArray("tokenizer.ggml.scores")), source.scores);
  EXPECT_EQ(gguf::ArrayElements<int32_t>(got->GetArray("tokenizer.ggml.token_type")),
            source.token_types);
  EXPECT_EQ(got->GetString("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(got->GetString("tokenizer.ggml.pre"), "default");
  EXPECT_EQ(got->GetU64("tokenizer.ggml.unknown_token_id"), uint64_t(source.unk_id));
  EXPECT_EQ(got->GetU64("tokenizer.ggml.bos_token_id"), uint64_t(source.bos_id));
  EXPECT_EQ(got->GetU64("tokenizer.ggml.eos_token_id"), uint64_t(source.eos_id));

  const auto a = Tokenizer::FromGguf(*got);
  const auto b = Tokenizer::FromGguf(*want);
  ASSERT_EQ(a->model(), TokenizerModel::kSpm);
  for (const char* text :
       {"Once upon a time there was a little dog", "The capital of France is Paris.",
        "  two leading spaces", "def add(a, b):\n    return a + b", "2024 + 10 = 2034",
        "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 byte fallback"}) {
    SCOPED_TRACE(text);
    const std::vector<int32_t> ids = a->Encode(text, true, false);
    EXPECT_EQ(ids, b->Encode(text, true, false));
    EXPECT_EQ(ids.front(), bos);
    // Nothing falls back to the unknown token, and the text round-trips (after its prefix space).
    EXPECT_EQ(std::count(ids.begin(), ids.end(), unk), 0);
    EXPECT_EQ(a->Decode({ids.data() + 1, ids.size() - 1}), " " + std::string(text));
  }
  // CONTROL pieces as text become those tokens when special tokens are parsed.
  const std::vector<int32_t> special = a->Encode("<s> and </s>", false, true);
  EXPECT_EQ(special, b->Encode("<s> and </s>", false, true));
  EXPECT_EQ(std::count(special.begin(), special.end(), bos), 1);
  EXPECT_EQ(special.back(), eos);
  EXPECT_EQ(a->Encode("", true, false), (std::vector<int32_t>{bos}));
  // The learned pieces are used: a common word is one token, not its letters.
  EXPECT_LT(a->Encode("the river", false, false).size(), 4u);
}

// The converter's _set_vocab_sentencepiece around the pieces: USER_DEFINED pieces are written
// NORMAL, added_tokens.json's new keys follow in file order (USER_DEFINED, -1000; a key that is
// already a piece is skipped), then [PAD1].. (UNUSED, -1000) up to config.json's vocab_size.
TEST(Convert, SentencePieceAddedTokensAndPadding) {
  synth::SynthConfig c = CaseNamed("bitnet-spm").config;
  c.n_vocab = 400;
  testing::TempDir tmp;
  const std::vector<uint8_t> bytes = Synth(c);
  auto g = gguf::GgufFile::FromBuffer(bytes);
  const std::string dir = WriteCheckpoint(*g, tmp.File(c.name), Weights::kPacked);
  testing::SpModelSpec spec = SpmSpecOf(*g);
  ASSERT_EQ(spec.pieces.size(), 400u);
  spec.pieces.resize(395);  // 2 added tokens + 3 fillers make the 400
  const size_t user = spec.pieces.size() - 1;
  spec.pieces[user].type = 4;  // USER_DEFINED
  spec.model_type = 1;         // UNIGRAM reads the same
  const std::vector<uint8_t> model = testing::SentencePieceModelBytes(spec);
  std::ofstream(dir + "/tokenizer.model", std::ios::binary)
      .write(reinterpret_cast<const char*>(model.data()), model.size());
  // In file order "zz" before "<aa>" (nlohmann would sort them the other way); "<s>" is a piece.
  std::ofstream(dir + "/added_tokens.json") << R"({"zz": 1, "<s>": 2, "<aa>": 0, "zz": 5})";
  const testing::CliResult r = Convert(dir, tmp.File("out.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto got = gguf::GgufFile::Open(tmp.File("out.gguf"));
  const auto tokens = got->GetStringArray("tokenizer.ggml.tokens");
  const auto scores = gguf::ArrayElements<float>(got->GetArray("tokenizer.ggml.scores"));
  const auto types = gguf::ArrayElements<int32_t>(got->GetArray("tokenizer.ggml.token_type"));
  ASSERT_EQ(tokens.size(), 400u);
  for (size_t i = 0; i < spec.pieces.size(); ++i) {
    EXPECT_EQ(tokens[i], spec.pieces[i].piece) << i;
    EXPECT_EQ(scores[i], spec.pieces[i].score) << i;
    EXPECT_EQ(types[i], i == user ? 1 : spec.pieces[i].type) << i;
  }
  const std::vector<std::string> tail = {"zz", "<aa>", "[PAD1]", "[PAD2]", "[PAD3]"};
  const std::vector<int32_t> tail_types = {4, 4, 5, 5, 5};
  for (size_t j = 0; j < tail.size(); ++j) {
    EXPECT_EQ(tokens[395 + j], tail[j]);
    EXPECT_EQ(scores[395 + j], -1000.0f);
    EXPECT_EQ(types[395 + j], tail_types[j]);
  }
  // The converted file loads, and USER_DEFINED added tokens match in text.
  const auto tok = Tokenizer::FromGguf(*got);
  EXPECT_EQ(tok->Encode("zz", false, false), (std::vector<int32_t>{395}));

  // More pieces and added tokens than vocab_size: the converter's assert, as one line.
  std::ofstream(dir + "/added_tokens.json")
      << R"({"a1": 0, "a2": 0, "a3": 0, "a4": 0, "a5": 0, "a6": 0})";
  testing::CliResult bad = Convert(dir, tmp.File("bad.gguf"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("more than config.json's vocab_size 400"), std::string::npos) << bad.err;
  std::filesystem::remove(dir + "/added_tokens.json");
  spec.pieces.resize(401, {"x", 0.0f, 1});
  for (size_t i = 395; i < 401; ++i) spec.pieces[i].piece = "x" + std::to_string(i);
  const std::vector<uint8_t> big = testing::SentencePieceModelBytes(spec);
  std::ofstream(dir + "/tokenizer.model", std::ios::binary)
      .write(reinterpret_cast<const char*>(big.data()), big.size());
  bad = Convert(dir, tmp.File("bad.gguf"));
  EXPECT_NE(bad.err.find("401 pieces, more than config.json's vocab_size 400"), std::string::npos)
      << bad.err;
  EXPECT_FALSE(std::filesystem::exists(tmp.File("bad.gguf")));
}

// Broken checkpoints: one line naming the problem, exit code 2, no output file.
TEST(Convert, MalformedCheckpointsAreOneLineErrors) {
  testing::TempDir tmp;
  const Case k = Cases()[1];
  const std::vector<uint8_t> bytes = Synth(k.config);
  auto g = gguf::GgufFile::FromBuffer(bytes);
  const auto fresh = [&](const std::string& name) {
    return WriteCheckpoint(*g, tmp.File(name), Weights::kPacked);
  };
  const auto expect_error = [&](const std::string& dir, const std::string& needle) {
    SCOPED_TRACE(needle);
    const std::string out = tmp.File("bad.gguf");
    const testing::CliResult r = Convert(dir, out);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out));
  };
  expect_error(tmp.File("nothing-here"), "config.json is missing");
  {  // the output path is checked before the (long) conversion starts
    const std::string d = fresh("out-link");
    std::filesystem::create_symlink(tmp.File("elsewhere.gguf"), tmp.File("link.gguf"));
    const testing::CliResult r = Convert(d, tmp.File("link.gguf"));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("refusing to write"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(tmp.File("elsewhere.gguf")));
  }
  {
    const std::string d = fresh("arch");
    json c = json::parse(ReadAll(d + "/config.json"));
    c["architectures"] = {"GPT2LMHeadModel"};
    WriteJson(d + "/config.json", c);
    expect_error(d, "'GPT2LMHeadModel' is not one bitjit converts");
  }
  {
    const std::string d = fresh("dims");
    json c = json::parse(ReadAll(d + "/config.json"));
    c["intermediate_size"] = 1024;
    WriteJson(d + "/config.json", c);
    expect_error(d, "], expected [64, 1024] from config.json");
  }
  {
    const std::string d = fresh("deep");
    std::ofstream(d + "/config.json") << std::string(50000, '[') << std::string(50000, ']');
    expect_error(d, "nested deeper");
  }
  {
    const std::string d = fresh("toktype");
    json t = json::parse(ReadAll(d + "/tokenizer.json"));
    t["model"]["type"] = 5;
    WriteJson(d + "/tokenizer.json", t);
    expect_error(d, "a field of an unexpected type");
  }
  {
    // LLaMA's sentencepiece-style tokenizer.json without the tokenizer.model it needs.
    const std::string d = fresh("spm");
    json t = json::parse(ReadAll(d + "/tokenizer.json"));
    t["model"]["byte_fallback"] = true;
    WriteJson(d + "/tokenizer.json", t);
    expect_error(d,
                 "a sentencepiece-style BPE (byte_fallback); bitjit converts such a "
                 "vocabulary from its tokenizer.model");
  }
  {
    // A garbled tokenizer.model: cut short, or a piece's length past the end.
    const std::string d = fresh("badmodel");
    const std::vector<uint8_t> model =
        testing::SentencePieceModelBytes({{{"<unk>", 0.0f, 2}, {"a", -1.0f, 1}, {"b", -2.0f, 1}}});
    std::ofstream(d + "/tokenizer.model", std::ios::binary)
        .write(reinterpret_cast<const char*>(model.data()), 20);
    expect_error(d, "tokenizer.model: a field of 10 bytes runs past the end (2 left)");
    std::ofstream(d + "/tokenizer.model", std::ios::binary) << std::string("\x0A\xFF\xFF\x03", 4);
    expect_error(d, "tokenizer.model: a field of 65535 bytes runs past the end (0 left)");
    std::ofstream(d + "/tokenizer.model", std::ios::binary) << "not a model at all";
    expect_error(d, "tokenizer.model: ");
    std::filesystem::remove(d + "/tokenizer.model");
    std::filesystem::create_directory(d + "/tokenizer.model");
    expect_error(d, "tokenizer.model is missing or not a regular file");
  }
  {
    // --pre names a BPE pre-tokenizer; a SentencePiece vocabulary has none to choose.
    const Case& spm = CaseNamed("llama-spm");
    const std::vector<uint8_t> spm_bytes = Synth(spm.config);
    const std::string d = WriteCheckpoint(*gguf::GgufFile::FromBuffer(spm_bytes),
                                          tmp.File("spm-pre"), Weights::kPacked);
    const testing::CliResult r = Convert(d, tmp.File("bad.gguf"), {"--pre", "falcon3"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("has a SentencePiece tokenizer.model"), std::string::npos) << r.err;
  }
  {
    const std::string d = fresh("hugevocab");
    json c = json::parse(ReadAll(d + "/config.json"));
    c["vocab_size"] = int64_t{1} << 30;
    WriteJson(d + "/config.json", c);
    expect_error(d, "above bitjit's limit");
  }
  {
    const std::string d = fresh("notok");
    std::filesystem::remove(d + "/tokenizer.json");
    expect_error(d, "tokenizer.json is missing");
  }
  {
    const std::string d = fresh("code3");
    std::vector<StTensor> t = HfTensors(*g, Weights::kPacked);
    for (StTensor& x : t)
      if (x.dtype == "U8") x.data[0] = 0xFF;
    testing::WriteSafetensors(d + "/model.safetensors", t);
    expect_error(d, "holds code 3");
  }
  {
    const std::string d = fresh("missing");
    std::vector<StTensor> t = HfTensors(*g, Weights::kPacked);
    t.erase(std::remove_if(t.begin(), t.end(),
                           [](const StTensor& x) { return x.name == "model.norm.weight"; }),
            t.end());
    testing::WriteSafetensors(d + "/model.safetensors", t);
    expect_error(d, "no tensor for output_norm.weight");
  }
  {
    const std::string d = fresh("truncated");
    std::filesystem::resize_file(d + "/model.safetensors", 1000);
    expect_error(d, "runs past the end");
  }
}

// Ground truth: golden-more/quantize/*.f32.gguf are the converter-layout F32 files that
// bitnet.cpp's llama-quantize turned into ../<case>/model.gguf. The checkpoint those came from
// (the same tensors, offline-quantized, and the same vocabulary) converts to model.gguf byte for
// byte: bitjit convert is the converter + llama-quantize.
TEST(Convert, ReproducesBitnetCppsFilesByteForByte) {
  // llama-gqa: arch llama, untied F16 output. q6k-embd: bitnet-b1.58 with the Q6_K token_embd of
  // --token-embedding-type q6_k.
  for (const auto& [name, flags] :
       {std::pair{std::string("llama-gqa"), std::vector<std::string>{}},
        std::pair{std::string("q6k-embd"),
                  std::vector<std::string>{"--token-embedding-type", "q6_k"}}}) {
    SCOPED_TRACE(name);
    const std::string dir_of = testing::SharedDir() + "/golden-more/";
    auto source = gguf::GgufFile::Open(dir_of + "quantize/" + name + ".f32.gguf");
    testing::TempDir tmp;
    const std::string dir = tmp.File(name);  // the converter names the model after it
    WriteCheckpoint(*source, dir, Weights::kPacked);
    const testing::CliResult r = Convert(dir, tmp.File("out.gguf"), flags);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string got = ReadAll(tmp.File("out.gguf"));
    const std::string expected = ReadAll(dir_of + name + "/model.gguf");
    ASSERT_EQ(got.size(), expected.size());
    EXPECT_TRUE(got == expected);
  }
}

}  // namespace
}  // namespace bitjit
