// `bitjit synth`'s models: bitnet.cpp's exact layout (compared with the golden models, which
// llama-quantize wrote), loadable by our reader and ModelConfig, ternarized like the converter,
// and deterministic in the seed.
#include "frontend/synth/synthetic_model.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "codegen/lmhead/q6k_format.h"
#include "codegen/lmhead/table_quantize.h"
#include "frontend/gguf/gguf_file.h"
#include "frontend/i2s/i2s_codec.h"
#include "frontend/model/model_config.h"
#include "frontend/synth/builtin_vocab.h"
#include "frontend/synth/random.h"
#include "ir/base/error.h"
#include "ir/base/half.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

std::vector<uint8_t> Synthesize(const synth::SynthConfig& config) {
  gguf::BufferSink sink;
  synth::WriteSyntheticModel(config, sink);
  return std::move(sink.bytes());
}

std::unique_ptr<gguf::GgufFile> OpenGolden(const std::string& name) {
  return gguf::GgufFile::Open(testing::GoldenModelPath(name));
}

// The synthetic model with a golden model's dims and layout. The tensor types are left to
// synth's llama-quantize rule, except a Q6_K token_embd (--token-embedding-type q6_k).
synth::SynthConfig ConfigLike(const gguf::GgufFile& golden) {
  const ModelConfig g = ModelConfig::FromGguf(golden);
  synth::SynthConfig c;
  c.arch = g.arch;
  c.n_embd = g.n_embd;
  c.n_ff = g.n_ff;
  c.n_layer = g.n_layer;
  c.n_head = g.n_head;
  c.n_head_kv = g.n_head_kv;
  c.n_vocab = g.n_vocab;
  c.n_ctx = g.n_ctx_train;
  c.rope_base = g.rope_base;
  c.rms_eps = g.rms_eps;
  c.untied_output = g.has_output;
  if (g.token_embd_type == static_cast<uint32_t>(gguf::GgmlType::kQ6_K)) {
    c.token_embd_type = gguf::GgmlType::kQ6_K;
    c.quantize_q6_k = lm_head::QuantizeRowQ6_K;
  }
  c.seed = 42;
  return c;
}

// Same keys (bitnet-b1.58: plus tokenizer.chat_template, which the official file has and the
// golden files lack) with the same types in the same order, the same dims, and the same
// tensors: names, types, shapes, order and offsets. Covers both layouts (golden-more's llama
// cases) and the Q6_K token_embd.
TEST(SyntheticModel, MatchesEveryGoldenModelsLayout) {
  for (const std::string& name : testing::GoldenCaseNames()) {
    SCOPED_TRACE(name);
    auto golden = OpenGolden(name);
    const std::vector<uint8_t> bytes = Synthesize(ConfigLike(*golden));
    auto f = gguf::GgufFile::FromBuffer(bytes);
    const ModelConfig ours = ModelConfig::FromGguf(*f);
    const ModelConfig theirs = ModelConfig::FromGguf(*golden);
    EXPECT_EQ(ours.arch, theirs.arch);
    EXPECT_EQ(ours.token_embd_type, theirs.token_embd_type);
    EXPECT_EQ(ours.has_output, theirs.has_output);
    EXPECT_EQ(ours.output_type, theirs.output_type);
    EXPECT_EQ(ours.bos_id, theirs.bos_id);
    EXPECT_EQ(ours.eos_id, theirs.eos_id);
    EXPECT_EQ(ours.file_type, 40u);

    const bool llama = theirs.is_llama();
    ASSERT_EQ(f->kvs().size(), llama ? 22u : 24u);
    ASSERT_EQ(golden->kvs().size(), llama ? 22u : 23u);
    size_t g = 0;
    for (const gguf::KeyValue& kv : f->kvs()) {
      if (kv.key == "tokenizer.chat_template") {
        EXPECT_EQ(f->kvs()[23].key, "general.quantization_version");
        continue;
      }
      const gguf::KeyValue& want = golden->kvs()[g++];
      EXPECT_EQ(kv.key, want.key);
      EXPECT_EQ(kv.value.type, want.value.type) << kv.key;
      if (kv.value.type == gguf::ValueType::kArray) {
        EXPECT_EQ(kv.value.AsArray(kv.key).element_type, want.value.AsArray(kv.key).element_type);
      } else if (kv.value.IsInteger() || kv.value.type == gguf::ValueType::kF32) {
        // Dims, ids, file type, eps, rope base: all equal.
        EXPECT_EQ(kv.value.AsF64(kv.key), want.value.AsF64(kv.key)) << kv.key;
      }
    }
    EXPECT_EQ(f->Find("general.alignment"), nullptr);
    if (!llama) {
      EXPECT_EQ(f->GetString("tokenizer.chat_template"), synth::kBitnetChatTemplate);
    }

    ASSERT_EQ(f->tensors().size(), golden->tensors().size());
    for (size_t i = 0; i < f->tensors().size(); ++i) {
      const gguf::TensorInfo& a = f->tensors()[i];
      const gguf::TensorInfo& b = golden->tensors()[i];
      EXPECT_EQ(a.name, b.name);
      EXPECT_EQ(a.type, b.type) << a.name;
      EXPECT_EQ(a.n_dims, b.n_dims) << a.name;
      for (int d = 0; d < 4; ++d) EXPECT_EQ(a.ne[d], b.ne[d]) << a.name;
      EXPECT_EQ(a.offset, b.offset) << a.name;
    }
    // Only the tokenizer keys differ in size, so the data sections are the same size.
    EXPECT_EQ(f->file_size() - f->data_offset(), golden->file_size() - golden->data_offset());
  }
}

// With the golden file's own vocabulary and name, the llama layout's header (every key and value,
// every tensor info) is golden-more's byte for byte: only the weights differ.
TEST(SyntheticModel, LlamaHeaderIsTheConvertersByteForByte) {
  int checked = 0;
  for (const std::string& name : testing::GoldenCaseNames()) {
    auto golden = OpenGolden(name);
    if (!ModelConfig::FromGguf(*golden).is_llama()) continue;
    SCOPED_TRACE(name);
    synth::SynthConfig c = ConfigLike(*golden);
    c.name = std::string(golden->GetString("general.name"));
    c.vocab_from = testing::GoldenModelPath(name);
    c.n_vocab = 0;
    const std::vector<uint8_t> bytes = Synthesize(c);
    const std::string want = testing::ReadFile(testing::GoldenModelPath(name));
    ASSERT_EQ(bytes.size(), want.size());
    const size_t header = golden->data_offset();
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.begin() + header,
                           reinterpret_cast<const uint8_t*>(want.data())));
    ++checked;
  }
  EXPECT_GE(checked, 2);  // llama-gqa and falcon3-hd256
}

// The llama layout sorts tensors by their Hugging Face names, as strings: past 10 blocks,
// blk.10 comes before blk.2, and no sub-norms are written.
TEST(SyntheticModel, LlamaTensorOrderIsSortedHuggingFaceNames) {
  synth::SynthConfig c = synth::Preset("llama-tiny");
  c.n_layer = 11;
  c.n_embd = 128;
  c.n_head = 2;
  c.n_head_kv = 1;
  c.n_ff = 256;
  c.n_vocab = 300;
  const std::vector<uint8_t> bytes = Synthesize(c);
  auto f = gguf::GgufFile::FromBuffer(bytes);
  std::vector<std::string> names;
  for (const gguf::TensorInfo& t : f->tensors()) names.emplace_back(t.name);
  ASSERT_EQ(names.size(), 3u + 11u * 9u);
  EXPECT_EQ(names[0], "output.weight");
  EXPECT_EQ(names[1], "token_embd.weight");
  EXPECT_EQ(names[2], "blk.0.attn_norm.weight");
  EXPECT_EQ(names[2 + 9], "blk.1.attn_norm.weight");
  EXPECT_EQ(names[2 + 18], "blk.10.attn_norm.weight");
  EXPECT_EQ(names[2 + 27], "blk.2.attn_norm.weight");
  EXPECT_EQ(names.back(), "output_norm.weight");
  for (const std::string& n : names) EXPECT_EQ(n.find("sub_norm"), std::string::npos) << n;
  // Q8_0 output (n_embd % 256 != 0) next to an F16 token_embd, as llama-quantize picks them.
  EXPECT_EQ(f->FindTensor("output.weight")->ggml_type(), gguf::GgmlType::kQ8_0);
  EXPECT_EQ(f->FindTensor("token_embd.weight")->ggml_type(), gguf::GgmlType::kF16);
  const ModelConfig config = ModelConfig::FromGguf(*f);
  EXPECT_TRUE(config.is_llama());
  EXPECT_TRUE(config.has_output);
}

// A Q6_K token_embd holds the quantizer's blocks of N(0, 1) rows: dequantized, unit variance.
TEST(SyntheticModel, Q6_KEmbedding) {
  synth::SynthConfig c;
  c.token_embd_type = gguf::GgmlType::kQ6_K;
  EXPECT_NE(testing::ExpectError([&] { Synthesize(c); }).find("Q6_K quantizer"), std::string::npos);
  c.quantize_q6_k = lm_head::QuantizeRowQ6_K;
  const std::vector<uint8_t> bytes = Synthesize(c);
  auto f = gguf::GgufFile::FromBuffer(bytes);
  const gguf::TensorInfo* e = f->FindTensor("token_embd.weight");
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->ggml_type(), gguf::GgmlType::kQ6_K);
  ASSERT_EQ(e->data.size(), e->n_elements() / 256 * 210);
  std::vector<float> values(e->n_elements());
  codegen::q6k::DequantizeRowQ6_K(e->data.data(), e->n_elements(), values.data());
  double sum_sq = 0;
  for (float v : values) sum_sq += double(v) * v;
  EXPECT_NEAR(sum_sq / e->n_elements(), 1.0, 0.03);
  c.n_embd = 128;  // rows are not whole super-blocks
  c.n_head = 2;
  c.n_head_kv = 1;
  EXPECT_NE(testing::ExpectError([&] { Synthesize(c); }).find("multiple of 256"),
            std::string::npos);
}

TEST(SyntheticModel, WeightsLookLikeTheConvertersOutput) {
  synth::SynthConfig c;  // tiny
  c.seed = 7;
  const std::vector<uint8_t> bytes = Synthesize(c);
  auto f = gguf::GgufFile::FromBuffer(bytes);
  for (const gguf::TensorInfo& t : f->tensors()) {
    SCOPED_TRACE(std::string(t.name));
    const uint64_t n = t.n_elements();
    double sum = 0, sum_sq = 0;
    if (t.ggml_type() == gguf::GgmlType::kI2_S) {
      const std::vector<uint8_t> codes = i2s::DecodeCodes(t.data, n);
      EXPECT_EQ(std::count(codes.begin(), codes.end(), uint8_t{3}), 0);
      const double zeros = std::count(codes.begin(), codes.end(), uint8_t{1}) / double(n);
      EXPECT_NEAR(zeros, 0.3101, 0.02);  // P(|z| < E|z|/2) for z ~ N(0,1)
      const float scale = i2s::DecodeScale(t.data, n);
      EXPECT_NEAR(scale, std::sqrt(2.0 / M_PI), 0.02);  // mean|W| of the sample
      // Requantizing the dequantized weights (llama-quantize's float path) is the identity.
      const std::vector<int8_t> w = i2s::DecodeWeights(t.data, n);
      std::vector<float> deq(n);
      for (uint64_t i = 0; i < n; ++i) deq[i] = w[i] * scale;
      const i2s::Quantized q = i2s::QuantizeTernarized(deq);
      EXPECT_EQ(q.scale, scale);
      EXPECT_EQ(q.weights, w);
      continue;
    }
    for (uint64_t i = 0; i < n; ++i) {
      float x;
      if (t.ggml_type() == gguf::GgmlType::kF16) {
        uint16_t h;
        std::memcpy(&h, t.data.data() + 2 * i, 2);
        x = HalfToFloat(h);
      } else {
        ASSERT_EQ(t.ggml_type(), gguf::GgmlType::kF32);
        std::memcpy(&x, t.data.data() + 4 * i, 4);
      }
      sum += x;
      sum_sq += x * x;
    }
    const double mean = sum / n, sd = std::sqrt(sum_sq / n - mean * mean);
    if (t.ggml_type() == gguf::GgmlType::kF16) {  // token_embd: N(0, 1)
      EXPECT_NEAR(mean, 0.0, 0.01);
      EXPECT_NEAR(sd, 1.0, 0.01);
    } else {  // norms: 1 + 0.1 N(0, 1)
      EXPECT_NEAR(mean, 1.0, 0.03);
      EXPECT_NEAR(sd, 0.1, 0.02);
    }
  }
}

TEST(SyntheticModel, Q8_0EmbeddingWhenRowsAreNotWhole256Blocks) {
  synth::SynthConfig c;
  c.n_embd = 128;
  c.n_head = 1;
  c.n_head_kv = 1;
  c.n_ff = 256;
  c.n_layer = 1;
  const std::vector<uint8_t> bytes = Synthesize(c);
  auto f = gguf::GgufFile::FromBuffer(bytes);
  const gguf::TensorInfo* e = f->FindTensor("token_embd.weight");
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->ggml_type(), gguf::GgmlType::kQ8_0);
  // Blocks of 32: f16 d = amax/127, then int8 with max |q| = 127 in every block.
  double sum_sq = 0;
  for (uint64_t b = 0; b < e->n_elements() / 32; ++b) {
    const uint8_t* block = e->data.data() + 34 * b;
    uint16_t dh;
    std::memcpy(&dh, block, 2);
    const float d = HalfToFloat(dh);
    int max_q = 0;
    for (int j = 0; j < 32; ++j) {
      const int q = static_cast<int8_t>(block[2 + j]);
      max_q = std::max(max_q, std::abs(q));
      sum_sq += double(q * d) * double(q * d);
    }
    ASSERT_EQ(max_q, 127) << "block " << b;
  }
  EXPECT_NEAR(sum_sq / e->n_elements(), 1.0, 0.03);
}

TEST(SyntheticModel, DeterministicInTheSeed) {
  synth::SynthConfig c;
  c.seed = 1;
  const std::vector<uint8_t> a = Synthesize(c), b = Synthesize(c);
  EXPECT_EQ(a, b);
  c.seed = 2;
  const std::vector<uint8_t> other = Synthesize(c);
  ASSERT_EQ(other.size(), a.size());
  EXPECT_NE(other, a);
  // Only the data differs: the metadata does not depend on the seed.
  auto fa = gguf::GgufFile::FromBuffer(a);
  EXPECT_TRUE(std::equal(a.begin(), a.begin() + fa->data_offset(), other.begin()));
  // And every tensor differs, not just one.
  auto fo = gguf::GgufFile::FromBuffer(other);
  for (size_t i = 0; i < fa->tensors().size(); ++i) {
    const auto& x = fa->tensors()[i].data;
    const auto& y = fo->tensors()[i].data;
    EXPECT_FALSE(std::equal(x.begin(), x.end(), y.begin())) << fa->tensors()[i].name;
  }
}

TEST(SyntheticModel, VocabularyFromAnotherFile) {
  const std::string vocab_path = testing::SharedDir() + "/tokenizer/llama3-vocab.gguf";
  synth::SynthConfig c;
  c.vocab_from = vocab_path;
  c.n_vocab = 0;
  c.n_layer = 1;
  const std::vector<uint8_t> bytes = Synthesize(c);
  auto f = gguf::GgufFile::FromBuffer(bytes);
  auto vocab = gguf::GgufFile::Open(vocab_path);
  const ModelConfig config = ModelConfig::FromGguf(*f);
  EXPECT_EQ(config.n_vocab, 128256);
  EXPECT_EQ(config.bos_id, 128000);
  EXPECT_EQ(config.eos_id, 128001);
  ASSERT_EQ(f->kvs().size(), 24u);
  // The tokenizer keys are copied value for value.
  for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.add_bos_token",
                          "tokenizer.ggml.padding_token_id"}) {
    EXPECT_EQ(f->Find(key)->type, vocab->Find(key)->type) << key;
  }
  EXPECT_EQ(f->GetStringArray("tokenizer.ggml.tokens"),
            vocab->GetStringArray("tokenizer.ggml.tokens"));
  EXPECT_EQ(f->GetStringArray("tokenizer.ggml.merges"),
            vocab->GetStringArray("tokenizer.ggml.merges"));
  EXPECT_EQ(gguf::ArrayElements<int32_t>(f->GetArray("tokenizer.ggml.token_type")),
            gguf::ArrayElements<int32_t>(vocab->GetArray("tokenizer.ggml.token_type")));
  EXPECT_EQ(f->GetString("tokenizer.chat_template"), synth::kBitnetChatTemplate);
  // The key order is the official file's, which the vocabulary file shares (minus the template).
  size_t v = 0;
  for (const gguf::KeyValue& kv : f->kvs()) {
    if (kv.key == "tokenizer.chat_template") continue;
    EXPECT_EQ(kv.key, vocab->kvs()[v++].key);
  }
  EXPECT_EQ(f->FindTensor("token_embd.weight")->ne[1], 128256u);

  c.n_vocab = 1000;  // contradicts the file
  EXPECT_THROW(Synthesize(c), Error);
}

TEST(SyntheticModel, BuiltinVocabulary) {
  const synth::Vocab v = synth::BuiltinVocab(512);
  ASSERT_EQ(v.tokens.size(), 512u);
  ASSERT_EQ(v.token_types.size(), 512u);
  ASSERT_EQ(v.scores.size(), 512u);
  EXPECT_EQ(std::set<std::string>(v.tokens.begin(), v.tokens.end()).size(), 512u);
  EXPECT_EQ(v.tokens[0], "!");                    // bytes_to_unicode order, as Llama-3
  EXPECT_EQ(synth::ByteToken(' '), "\xC4\xA0");   // U+0120 'Ġ'
  EXPECT_EQ(synth::ByteToken('\n'), "\xC4\x8A");  // U+010A 'Ċ'
  EXPECT_EQ(synth::ByteToken(0xAD), "\xC5\x83");  // the last non-printable byte: U+0143
  EXPECT_EQ(v.tokens[v.bos_id], "<|begin_of_text|>");
  EXPECT_EQ(v.tokens[v.eos_id], "<|end_of_text|>");
  EXPECT_EQ(v.bos_id, 504u);
  EXPECT_EQ(v.eos_id, 505u);
  EXPECT_EQ(v.padding_id, 505u);
  EXPECT_NE(std::find(v.tokens.begin() + 504, v.tokens.end(), "<|eot_id|>"), v.tokens.end());
  for (size_t i = 504; i < 512; ++i) EXPECT_EQ(v.token_types[i], synth::kTokenControl);
  EXPECT_EQ(v.tokens[503], "[PAD503]");
  EXPECT_EQ(v.token_types[503], synth::kTokenUserDefined);
  // Every merge joins two tokens into a token.
  const std::set<std::string> known(v.tokens.begin(), v.tokens.end());
  EXPECT_GE(v.merges.size(), 50u);
  for (const std::string& m : v.merges) {
    const size_t space = m.find(' ');
    ASSERT_NE(space, std::string::npos) << m;
    const std::string left = m.substr(0, space), right = m.substr(space + 1);
    EXPECT_TRUE(known.count(left) && known.count(right) && known.count(left + right)) << m;
  }
  // The smallest vocabulary has no room for merges.
  const synth::Vocab smallest = synth::BuiltinVocab(synth::kMinVocab);
  EXPECT_EQ(smallest.tokens.size(), 264u);
  EXPECT_TRUE(smallest.merges.empty());
  EXPECT_THROW(synth::BuiltinVocab(263), Error);
}

TEST(SyntheticModel, ValidatesOptions) {
  const auto error_of = [](auto change) {
    synth::SynthConfig c;
    change(c);
    try {
      synth::Validate(c);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of([](auto&) {}), "no error");
  EXPECT_NE(error_of([](auto& c) { c.n_embd = 200; }).find("multiple of 128"), std::string::npos);
  EXPECT_NE(error_of([](auto& c) { c.n_ff = 500; }).find("--n-ff 500"), std::string::npos);
  EXPECT_NE(error_of([](auto& c) { c.n_head = 3; }).find("multiple of --n-head"),
            std::string::npos);
  EXPECT_NE(error_of([](auto& c) { c.n_head_kv = 5; }).find("out of range"), std::string::npos);
  EXPECT_NE(error_of([](auto& c) { c.n_head = 8, c.n_head_kv = 3; }).find("--n-head-kv 3"),
            std::string::npos);
  EXPECT_NE(error_of([](auto& c) { c.n_layer = 0; }).find("--n-layer 0"), std::string::npos);
  EXPECT_NE(error_of([](auto& c) { c.n_ctx = -1; }).find("--n-ctx"), std::string::npos);
  EXPECT_NE(error_of([](auto& c) { c.n_vocab = 263; }).find("--n-vocab 263"), std::string::npos);
  EXPECT_NE(error_of([](auto& c) { c.n_embd = 384, c.n_head = 128; }).find("odd"),
            std::string::npos);
  EXPECT_NE(error_of([](auto& c) { c.arch = "gpt2"; }).find("--arch 'gpt2'"), std::string::npos);
  EXPECT_NE(error_of([](auto& c) { c.untied_output = true; }).find("--arch llama"),
            std::string::npos);
  EXPECT_NE(error_of([](auto& c) { c.n_ff = 520; }).find("multiple of 32"), std::string::npos);
  EXPECT_EQ(error_of([](auto& c) { c.n_ff = 576; }), "no error");  // K % 128 == 64, as 8640
  EXPECT_THROW(synth::Preset("7b"), Error);
  // Every preset is valid, and the families have their real shapes.
  for (const std::string& name : synth::PresetNames()) {
    SCOPED_TRACE(name);
    EXPECT_NO_THROW(synth::Validate(synth::Preset(name)));
  }
  const synth::SynthConfig large = synth::Preset("bitnet-0.7b");
  EXPECT_EQ(large.n_embd / large.n_head, 96);
  EXPECT_EQ(large.n_head_kv, large.n_head);
  const synth::SynthConfig b3 = synth::Preset("bitnet-3b");
  EXPECT_EQ(b3.n_embd / b3.n_head, 100);
  EXPECT_EQ(b3.n_ff, 8640);
  EXPECT_EQ(synth::TokenEmbdType(b3), gguf::GgmlType::kQ8_0);  // 3200 % 256 != 0: tied Q8_0
  const synth::SynthConfig falcon = synth::Preset("falcon3-7b");
  EXPECT_EQ(falcon.arch, kLlamaArch);
  EXPECT_EQ(falcon.n_embd / falcon.n_head, 256);
  EXPECT_EQ(falcon.rope_base, 1000042.0);
  EXPECT_EQ(falcon.n_vocab, 131072);
  EXPECT_EQ(synth::OutputType(falcon), gguf::GgmlType::kF16);  // 3072 = 12 * 256
  EXPECT_EQ(synth::TokenEmbdType(falcon), gguf::GgmlType::kF16);
  const synth::SynthConfig llama3 = synth::Preset("llama3-8b");
  EXPECT_EQ(synth::OutputType(llama3), gguf::GgmlType::kF16);
  EXPECT_EQ(llama3.n_head / llama3.n_head_kv, 4);
  const synth::SynthConfig big = synth::Preset("2b4t");
  EXPECT_EQ(big.n_embd, 2560);
  EXPECT_EQ(big.n_ff, 6912);
  EXPECT_EQ(big.n_layer, 30);
  EXPECT_EQ(big.n_head, 20);
  EXPECT_EQ(big.n_head_kv, 5);
  EXPECT_EQ(big.n_vocab, 128256);
  EXPECT_EQ(big.n_ctx, 4096);
  EXPECT_NO_THROW(synth::Validate(big));
}

TEST(SyntheticModel, NormalSamplerIsStandardNormal) {
  synth::NormalSampler normal(3);
  const int n = 4'000'000;
  double sum = 0, sum_sq = 0, sum_abs = 0, sum_4 = 0;
  int beyond_3 = 0, beyond_r = 0;
  for (int i = 0; i < n; ++i) {
    const double z = normal.Next();
    sum += z;
    sum_sq += z * z;
    sum_abs += std::fabs(z);
    sum_4 += z * z * z * z;
    beyond_3 += std::fabs(z) > 3.0;
    beyond_r += std::fabs(z) > 3.442619855899;  // the ziggurat's tail sampler
  }
  EXPECT_NEAR(sum / n, 0.0, 0.002);
  EXPECT_NEAR(sum_sq / n, 1.0, 0.003);
  EXPECT_NEAR(sum_abs / n, std::sqrt(2.0 / M_PI), 0.002);
  EXPECT_NEAR(sum_4 / n, 3.0, 0.03);
  EXPECT_NEAR(beyond_3 / double(n), 0.0026998, 0.0002);
  EXPECT_NEAR(beyond_r / double(n), 0.000576, 0.00006);
  synth::NormalSampler a(9), b(9);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.Next(), b.Next());
}

// The CLI writes the same bytes as the library, and rejects bad options with one error line.
TEST(SyntheticModel, Cli) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("bitjit_synth_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string out = (dir / "m.gguf").string(), err = (dir / "err.txt").string();
  const auto run = [&](const std::string& args) {
    const int status =
        std::system((std::string(BITJIT_CLI) + " synth " + args + " >/dev/null 2>" + err).c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  ASSERT_EQ(run("-o " + out + " --preset tiny --seed 5 --n-layer 1 --quiet"), 0);
  synth::SynthConfig c;
  c.seed = 5;
  c.n_layer = 1;
  std::ifstream in(out, std::ios::binary);
  const std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(file, Synthesize(c));

  // The layout flags: a llama file with a Q8_0 output.weight and a Q6_K token_embd.
  ASSERT_EQ(run("-o " + out +
                " --preset tiny --arch llama --output q8_0 --token-embd-type Q6_K --seed 5 "
                "--n-layer 1 --quiet"),
            0);
  c.arch = kLlamaArch;
  c.untied_output = true;
  c.output_type = gguf::GgmlType::kQ8_0;
  c.token_embd_type = gguf::GgmlType::kQ6_K;
  c.quantize_q6_k = lm_head::QuantizeRowQ6_K;
  std::ifstream in2(out, std::ios::binary);
  const std::vector<uint8_t> llama_file((std::istreambuf_iterator<char>(in2)), {});
  const std::vector<uint8_t> want = Synthesize(c);
  ASSERT_EQ(llama_file.size(), want.size());
  auto f = gguf::GgufFile::FromBuffer(llama_file);
  auto w = gguf::GgufFile::FromBuffer(want);
  EXPECT_TRUE(std::equal(want.begin(), want.begin() + w->data_offset(), llama_file.begin()));
  EXPECT_EQ(f->FindTensor("output.weight")->ggml_type(), gguf::GgmlType::kQ8_0);
  EXPECT_EQ(f->FindTensor("token_embd.weight")->ggml_type(), gguf::GgmlType::kQ6_K);
  // The CLI quantizes Q6_K as bitnet.cpp's llama-quantize binary does (fused multiply-adds,
  // tools/q6k_fused_quantize.h), which picks another scale than the plain-order quantizer in a
  // few groups; every other tensor is the library's byte for byte.
  for (size_t i = 0; i < f->tensors().size(); ++i) {
    const auto& a = f->tensors()[i].data;
    const auto& b = w->tensors()[i].data;
    ASSERT_EQ(a.size(), b.size());
    if (f->tensors()[i].name != "token_embd.weight") {
      EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin())) << f->tensors()[i].name;
      continue;
    }
    size_t blocks_differing = 0;
    for (size_t at = 0; at < a.size(); at += 210)
      blocks_differing += !std::equal(a.begin() + at, a.begin() + at + 210, b.begin() + at);
    EXPECT_LE(blocks_differing, a.size() / 210 / 20);
  }

  for (const char* bad : {"--preset huge", "--n-embd 100", "--n-embd 0", "--n-head 3",
                          "--vocab-from /nonexistent.gguf", "--bogus 1", "--arch gpt2",
                          "--output untied", "--arch llama --output q4_0", "--token-embd-type bf16",
                          "--n-embd 384 --n-head 4 "
                          "--token-embd-type q6_k"}) {
    SCOPED_TRACE(bad);
    const std::string bad_out = (dir / "bad.gguf").string();
    EXPECT_EQ(run("-o " + bad_out + " " + bad), 2);
    std::ifstream e(err);
    std::string line, rest;
    std::getline(e, line);
    EXPECT_EQ(line.rfind("error: ", 0), 0u) << line;
    EXPECT_FALSE(std::getline(e, rest)) << rest;
    EXPECT_FALSE(std::filesystem::exists(bad_out));
  }
  EXPECT_EQ(run("--preset tiny"), 2);  // no -o
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bitjit
