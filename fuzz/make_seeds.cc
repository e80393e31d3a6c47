// Writes the fuzzer's seed corpus into a folder: small valid GGUF files from our writer that
// reach every part of the reader (every value type, nested arrays, each tensor type, a custom
// alignment, version 2) and of ModelConfig (a complete, tiny bitnet-b1.58 model).
// usage: gguf_fuzz_seeds DIR
#include <cstdio>
#include <string>
#include <vector>

#include "frontend/gguf/gguf_writer.h"
#include "frontend/i2s/i2s_codec.h"
#include "frontend/synth/synthetic_model.h"
#include "ir/base/error.h"

namespace {

using bitjit::gguf::GgmlType;
using bitjit::gguf::GgufWriter;
using bitjit::gguf::KvValue;
using bitjit::gguf::ValueType;

// Deterministic filler bytes for tensor data.
std::vector<uint8_t> Filler(uint64_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (uint64_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return v;
}

void WriteAllTensors(GgufWriter& w, bitjit::gguf::ByteSink& sink) {
  w.WriteHeader(sink);
  uint8_t seed = 1;
  for (const auto& t : w.tensors()) {
    if (t.type == GgmlType::kI2_S) {
      uint64_t n = 1;
      for (uint64_t d : t.ne) n *= d;
      std::vector<int8_t> weights(n);
      for (uint64_t i = 0; i < n; ++i) weights[i] = static_cast<int8_t>(i % 3) - 1;
      w.WriteTensorData(bitjit::i2s::Encode(weights, 0.8f));
    } else if (t.type == GgmlType::kF32) {
      std::vector<float> ones(t.n_bytes / 4, 1.0f);
      w.WriteTensorData({reinterpret_cast<const uint8_t*>(ones.data()), t.n_bytes});
    } else {
      w.WriteTensorData(Filler(t.n_bytes, seed++));
    }
  }
  w.Finish();
}

void Save(const std::string& dir, const std::string& name, GgufWriter& w) {
  bitjit::gguf::FileSink sink(dir + "/" + name);
  WriteAllTensors(w, sink);
  sink.Commit();
}

// A complete bitnet-b1.58 model small enough for the fuzzer (E 32, 2 heads, 1 block, vocab 8):
// every key and tensor ModelConfig checks.
void MiniModel(const std::string& dir) {
  GgufWriter w;
  const std::string a = "bitnet-b1.58.";
  w.AddKv("general.architecture", KvValue::String("bitnet-b1.58"));
  w.AddKv("general.name", KvValue::String("mini"));
  w.AddKv(a + "vocab_size", KvValue::U32(8));
  w.AddKv(a + "context_length", KvValue::U32(16));
  w.AddKv(a + "embedding_length", KvValue::U32(32));
  w.AddKv(a + "block_count", KvValue::U32(1));
  w.AddKv(a + "feed_forward_length", KvValue::U32(64));
  w.AddKv(a + "rope.dimension_count", KvValue::U32(16));
  w.AddKv(a + "attention.head_count", KvValue::U32(2));
  w.AddKv(a + "attention.head_count_kv", KvValue::U32(1));
  w.AddKv("tokenizer.ggml.add_bos_token", KvValue::Bool(true));
  w.AddKv(a + "attention.layer_norm_rms_epsilon", KvValue::F32(1e-5f));
  w.AddKv(a + "rope.freq_base", KvValue::F32(500000.0f));
  w.AddKv("general.file_type", KvValue::U32(40));
  w.AddKv("tokenizer.ggml.model", KvValue::String("gpt2"));
  const std::vector<std::string> tokens = {
      "a", "b", "ab", "\xC4\xA0", "c", "d", "<|begin_of_text|>", "<|end_of_text|>"};
  w.AddKv("tokenizer.ggml.tokens", KvValue::StringArray(tokens));
  w.AddKv("tokenizer.ggml.scores", KvValue::F32Array(std::vector<float>(8, 0.0f)));
  w.AddKv("tokenizer.ggml.token_type",
          KvValue::I32Array(std::vector<int32_t>{1, 1, 1, 1, 1, 1, 3, 3}));
  const std::vector<std::string> merges = {"a b"};
  w.AddKv("tokenizer.ggml.merges", KvValue::StringArray(merges));
  w.AddKv("tokenizer.ggml.bos_token_id", KvValue::U32(6));
  w.AddKv("tokenizer.ggml.eos_token_id", KvValue::U32(7));
  w.AddKv("tokenizer.ggml.padding_token_id", KvValue::U32(7));
  w.AddKv("tokenizer.chat_template", KvValue::String(bitjit::synth::kBitnetChatTemplate));
  w.AddKv("general.quantization_version", KvValue::U32(2));
  const uint64_t e = 32, kv = 16, f = 64;
  w.AddTensor("token_embd.weight", GgmlType::kF16, {e, 8});
  w.AddTensor("blk.0.attn_norm.weight", GgmlType::kF32, {e});
  w.AddTensor("blk.0.attn_q.weight", GgmlType::kI2_S, {e, e});
  w.AddTensor("blk.0.attn_k.weight", GgmlType::kI2_S, {e, kv});
  w.AddTensor("blk.0.attn_v.weight", GgmlType::kI2_S, {e, kv});
  w.AddTensor("blk.0.attn_output.weight", GgmlType::kI2_S, {e, e});
  w.AddTensor("blk.0.attn_sub_norm.weight", GgmlType::kF32, {e});
  w.AddTensor("blk.0.ffn_norm.weight", GgmlType::kF32, {e});
  w.AddTensor("blk.0.ffn_gate.weight", GgmlType::kI2_S, {e, f});
  w.AddTensor("blk.0.ffn_up.weight", GgmlType::kI2_S, {e, f});
  w.AddTensor("blk.0.ffn_down.weight", GgmlType::kI2_S, {f, e});
  w.AddTensor("blk.0.ffn_sub_norm.weight", GgmlType::kF32, {f});
  w.AddTensor("output_norm.weight", GgmlType::kF32, {e});
  Save(dir, "mini_model.gguf", w);
}

// Every value type, arrays of strings and of arrays, and each tensor type bitnet files use.
void AllTypes(const std::string& dir, uint32_t version) {
  GgufWriter w(version);
  w.AddKv("u8", KvValue::U8(1));
  w.AddKv("i8", KvValue::I8(-1));
  w.AddKv("u16", KvValue::U16(2));
  w.AddKv("i16", KvValue::I16(-2));
  w.AddKv("u32", KvValue::U32(3));
  w.AddKv("i32", KvValue::I32(-3));
  w.AddKv("f32", KvValue::F32(0.5f));
  w.AddKv("bool", KvValue::Bool(false));
  w.AddKv("str", KvValue::String("h\xC3\xA9"));
  w.AddKv("u64", KvValue::U64(4));
  w.AddKv("i64", KvValue::I64(-4));
  w.AddKv("f64", KvValue::F64(0.25));
  const std::vector<std::string> strings = {"x", "yz"};
  w.AddKv("strs", KvValue::StringArray(strings));
  w.AddKv("bools", KvValue::U8Array(std::vector<uint8_t>{0, 1}, ValueType::kBool));
  const std::vector<KvValue> inner = {KvValue::I32Array(std::vector<int32_t>{1, 2}),
                                      KvValue::StringArray(strings)};
  w.AddKv("nested", KvValue::Array(ValueType::kArray, inner));
  w.AddTensor("f32", GgmlType::kF32, {4});
  w.AddTensor("f16", GgmlType::kF16, {4, 2});
  w.AddTensor("q8_0", GgmlType::kQ8_0, {32, 2});
  w.AddTensor("i2_s", GgmlType::kI2_S, {128});
  w.AddTensor("4d", GgmlType::kF32, {1, 2, 1, 2});
  Save(dir, "all_types_v" + std::to_string(version) + ".gguf", w);
}

void Alignment64(const std::string& dir) {
  GgufWriter w(3, 64);
  w.AddKv("general.alignment", KvValue::U32(64));
  w.AddTensor("a", GgmlType::kF32, {3});
  w.AddTensor("b", GgmlType::kI2_S, {256});
  Save(dir, "alignment64.gguf", w);
}

void Empty(const std::string& dir) {
  GgufWriter w;
  Save(dir, "empty.gguf", w);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  try {
    MiniModel(dir);
    AllTypes(dir, 3);
    AllTypes(dir, 2);
    Alignment64(dir);
    Empty(dir);
  } catch (const bitjit::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
