#include "frontend/model/model_config.h"

#include <string>
#include <utility>

#include "ir/base/error.h"

namespace bitjit {
namespace {

using gguf::GgmlType;
using gguf::GgufFile;

// Hyper-parameter keys live under the architecture's name ("llama.block_count").
struct ArchKeys {
  std::string arch;
  std::string operator()(std::string_view suffix) const { return arch + "." + std::string(suffix); }
};

int64_t PositiveDim(const GgufFile& f, const ArchKeys& Key, std::string_view suffix) {
  const std::string key = Key(suffix);
  const uint64_t v = f.GetU64(key);
  if (v == 0 || v > (uint64_t{1} << 31)) Fail("key ", key, " has an invalid value ", v);
  return static_cast<int64_t>(v);
}

void CheckTensor(const GgufFile& f, const std::string& name, std::initializer_list<GgmlType> types,
                 std::initializer_list<int64_t> shape) {
  const gguf::TensorInfo* t = f.FindTensor(name);
  if (t == nullptr) Fail("missing tensor ", name);
  bool type_ok = false;
  for (GgmlType ty : types) type_ok |= t->ggml_type() == ty;
  if (!type_ok) {
    auto type_name = gguf::GgmlTypeName(t->type);
    Fail("tensor ", name, " has type ", type_name ? *type_name : "?",
         ", which bitjit cannot execute here");
  }
  const int n = static_cast<int>(shape.size());
  bool shape_ok = static_cast<int>(t->n_dims) == n;
  int i = 0;
  for (int64_t d : shape) shape_ok &= i < 4 && t->ne[i++] == static_cast<uint64_t>(d);
  if (!shape_ok) {
    std::string got, want;
    for (uint32_t d = 0; d < t->n_dims; ++d) got += (d ? ", " : "") + std::to_string(t->ne[d]);
    i = 0;
    for (int64_t d : shape) want += (i++ ? ", " : "") + std::to_string(d);
    Fail("tensor ", name, " has shape [", got, "], expected [", want, "] from the model config");
  }
}

}  // namespace

ModelConfig ModelConfig::FromGguf(const GgufFile& f) {
  ModelConfig c;
  c.arch = std::string(f.GetString("general.architecture"));
  if (c.arch != kBitnetArch && c.arch != kLlamaArch) {
    Fail("architecture '", c.arch, "' is not supported (bitjit runs '", kBitnetArch, "' and '",
         kLlamaArch, "' with ternary weights)");
  }
  const ArchKeys Key{c.arch};
  if (const gguf::Value* v = f.Find("general.name"))
    c.name = std::string(v->AsString("general.name"));
  c.n_embd = PositiveDim(f, Key, "embedding_length");
  c.n_layer = PositiveDim(f, Key, "block_count");
  c.n_ff = PositiveDim(f, Key, "feed_forward_length");
  c.n_head = PositiveDim(f, Key, "attention.head_count");
  c.n_head_kv = f.Find(Key("attention.head_count_kv"))
                    ? PositiveDim(f, Key, "attention.head_count_kv")
                    : c.n_head;
  c.n_ctx_train = PositiveDim(f, Key, "context_length");
  c.rms_eps = static_cast<float>(f.GetF64(Key("attention.layer_norm_rms_epsilon")));
  if (const gguf::Value* v = f.Find(Key("rope.freq_base"))) {
    c.rope_base = static_cast<float>(v->AsF64(Key("rope.freq_base")));
  }
  if (const gguf::Value* v = f.Find("general.file_type")) {
    c.file_type = static_cast<uint32_t>(v->AsU64("general.file_type"));
  }
  if (!(c.rms_eps > 0.0f && c.rms_eps < 1.0f)) Fail("inconsistent dims: rms epsilon ", c.rms_eps);
  if (!(c.rope_base > 1.0f)) Fail("inconsistent dims: rope.freq_base ", c.rope_base);
  if (c.n_embd % c.n_head != 0) {
    Fail("inconsistent dims: embedding_length ", c.n_embd, " is not a multiple of head_count ",
         c.n_head);
  }
  if (c.n_head % c.n_head_kv != 0) {
    Fail("inconsistent dims: head_count ", c.n_head, " is not a multiple of head_count_kv ",
         c.n_head_kv);
  }
  c.head_dim = c.n_embd / c.n_head;
  if (c.head_dim % 2 != 0 || c.head_dim > 512) {
    Fail("inconsistent dims: head dimension ", c.head_dim, " (must be even and at most 512)");
  }
  if (const gguf::Value* v = f.Find(Key("rope.dimension_count"))) {
    const uint64_t rope_dim = v->AsU64(Key("rope.dimension_count"));
    if (rope_dim != static_cast<uint64_t>(c.head_dim)) {
      Fail("inconsistent dims: rope.dimension_count ", rope_dim, " != head dimension ", c.head_dim,
           " (partial rotary embeddings are not supported)");
    }
  }

  const gguf::TensorInfo* embd = f.FindTensor("token_embd.weight");
  if (embd == nullptr) Fail("missing tensor token_embd.weight");
  if (embd->n_dims != 2) Fail("tensor token_embd.weight must be 2-D");
  c.n_vocab = f.Find(Key("vocab_size")) ? PositiveDim(f, Key, "vocab_size")
                                        : static_cast<int64_t>(embd->ne[1]);
  c.token_embd_type = embd->type;
  // Q6_K: bitnet.cpp's --quant-embd (llama-quantize --token-embedding-type q6_k).
  CheckTensor(f, "token_embd.weight", {GgmlType::kF16, GgmlType::kQ8_0, GgmlType::kQ6_K},
              {c.n_embd, c.n_vocab});
  if (const gguf::Value* v = f.Find("tokenizer.ggml.tokens")) {
    const uint64_t n = v->AsArray("tokenizer.ggml.tokens").count;
    if (n != static_cast<uint64_t>(c.n_vocab)) {
      Fail("inconsistent dims: ", n, " tokenizer tokens but vocab size ", c.n_vocab);
    }
  }
  // Range-check the u64 before narrowing: 2^32-1 must not turn into -1 ("no token").
  for (auto [key, id] : {std::pair{"tokenizer.ggml.bos_token_id", &c.bos_id},
                         std::pair{"tokenizer.ggml.eos_token_id", &c.eos_id}}) {
    const gguf::Value* v = f.Find(key);
    if (v == nullptr) continue;
    const uint64_t raw = v->AsU64(key);
    if (raw >= static_cast<uint64_t>(c.n_vocab)) {
      Fail("inconsistent dims: ", key, " ", raw, " >= vocab size ", c.n_vocab);
    }
    *id = static_cast<int32_t>(raw);
  }
  if (f.Find("tokenizer.ggml.add_bos_token")) c.add_bos = f.GetBool("tokenizer.ggml.add_bos_token");

  const int64_t e = c.n_embd, kv = c.n_embd_kv(), ff = c.n_ff;
  CheckTensor(f, "output_norm.weight", {GgmlType::kF32}, {e});
  if (const gguf::TensorInfo* out = f.FindTensor("output.weight")) {
    c.has_output = true;
    c.output_type = out->type;
    CheckTensor(f, "output.weight", {GgmlType::kF16, GgmlType::kQ8_0}, {e, c.n_vocab});
  }
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    CheckTensor(f, p + "attn_norm.weight", {GgmlType::kF32}, {e});
    CheckTensor(f, p + "ffn_norm.weight", {GgmlType::kF32}, {e});
    if (!c.is_llama()) {  // llama's graph has no sub-norms
      CheckTensor(f, p + "attn_sub_norm.weight", {GgmlType::kF32}, {e});
      CheckTensor(f, p + "ffn_sub_norm.weight", {GgmlType::kF32}, {ff});
    }
    CheckTensor(f, p + "attn_q.weight", {GgmlType::kI2_S}, {e, e});
    CheckTensor(f, p + "attn_k.weight", {GgmlType::kI2_S}, {e, kv});
    CheckTensor(f, p + "attn_v.weight", {GgmlType::kI2_S}, {e, kv});
    CheckTensor(f, p + "attn_output.weight", {GgmlType::kI2_S}, {e, e});
    CheckTensor(f, p + "ffn_gate.weight", {GgmlType::kI2_S}, {e, ff});
    CheckTensor(f, p + "ffn_up.weight", {GgmlType::kI2_S}, {e, ff});
    CheckTensor(f, p + "ffn_down.weight", {GgmlType::kI2_S}, {ff, e});
  }
  return c;
}

}  // namespace bitjit
