#include "frontend/model/model_keys.h"

#include "frontend/model/model_config.h"
#include "ir/base/error.h"

namespace bitjit {
namespace {

using gguf::KvValue;

KvValue U32(int64_t v) {
  return KvValue::U32(static_cast<uint32_t>(v));
}

void AddBitnetKeys(gguf::GgufWriter& w, const ModelKeyDims& d, const VocabKeys& vocab,
                   const ModelKeyOptions& o) {
  const std::string a = std::string(kBitnetArch) + ".";
  w.AddKv("general.architecture", KvValue::String(kBitnetArch));
  w.AddKv("general.name", KvValue::String(d.name));
  w.AddKv(a + "vocab_size", U32(d.n_vocab));
  w.AddKv(a + "context_length", U32(d.n_ctx));
  w.AddKv(a + "embedding_length", U32(d.n_embd));
  w.AddKv(a + "block_count", U32(d.n_layer));
  w.AddKv(a + "feed_forward_length", U32(d.n_ff));
  w.AddKv(a + "rope.dimension_count", U32(d.n_embd / d.n_head));
  w.AddKv(a + "attention.head_count", U32(d.n_head));
  w.AddKv(a + "attention.head_count_kv", U32(d.n_head_kv));
  vocab.AddBos(w);
  w.AddKv(a + "attention.layer_norm_rms_epsilon", KvValue::F32(d.rms_eps));
  w.AddKv(a + "rope.freq_base", KvValue::F32(static_cast<float>(d.rope_base)));
  w.AddKv("general.file_type", KvValue::U32(o.file_type));
  vocab.AddBitnetVocab(w);
  if (o.quantization_version) w.AddKv("general.quantization_version", KvValue::U32(2));
}

void AddLlamaKeys(gguf::GgufWriter& w, const ModelKeyDims& d, const VocabKeys& vocab,
                  const ModelKeyOptions& o) {
  const std::string a = std::string(kLlamaArch) + ".";
  w.AddKv("general.architecture", KvValue::String(kLlamaArch));
  w.AddKv("general.name", KvValue::String(d.name));
  w.AddKv(a + "block_count", U32(d.n_layer));
  w.AddKv(a + "context_length", U32(d.n_ctx));
  w.AddKv(a + "embedding_length", U32(d.n_embd));
  w.AddKv(a + "feed_forward_length", U32(d.n_ff));
  w.AddKv(a + "attention.head_count", U32(d.n_head));
  w.AddKv(a + "attention.head_count_kv", U32(d.n_head_kv));
  w.AddKv(a + "rope.freq_base", KvValue::F32(static_cast<float>(d.rope_base)));
  w.AddKv(a + "attention.layer_norm_rms_epsilon", KvValue::F32(d.rms_eps));
  w.AddKv("general.file_type", KvValue::U32(o.file_type));
  w.AddKv(a + "vocab_size", U32(d.n_vocab));
  w.AddKv(a + "rope.dimension_count", U32(d.n_embd / d.n_head));
  vocab.AddLlamaVocab(w);
  if (o.quantization_version) w.AddKv("general.quantization_version", KvValue::U32(2));
}

}  // namespace

void AddModelKeys(gguf::GgufWriter& w, const ModelKeyDims& dims, const VocabKeys& vocab,
                  const ModelKeyOptions& options) {
  if (dims.arch == kLlamaArch) return AddLlamaKeys(w, dims, vocab, options);
  if (dims.arch == kBitnetArch) return AddBitnetKeys(w, dims, vocab, options);
  Fail("architecture '", dims.arch, "' has no GGUF layout here (", kBitnetArch, " or ", kLlamaArch,
       ")");
}

}  // namespace bitjit
