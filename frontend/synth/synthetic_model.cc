#include "frontend/synth/synthetic_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "frontend/gguf/gguf_file.h"
#include "frontend/i2s/i2s_codec.h"
#include "frontend/model/model_config.h"
#include "frontend/model/model_keys.h"
#include "frontend/synth/builtin_vocab.h"
#include "frontend/synth/random.h"
#include "frontend/synth/spm_vocab.h"
#include "ir/base/error.h"
#include "ir/base/half.h"

namespace bitjit::synth {

const char kBitnetChatTemplate[] =
    R"({% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}{% if message['role'] == 'user' %}{{ 'Human: ' + message['content'] + '\n\nBITNETAssistant: ' + eos_token }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %})";

namespace {

using gguf::GgmlType;
using gguf::KvValue;

// Elements generated per step: a multiple of the I2_S block (128) and of Q8_0's (32).
constexpr uint64_t kChunk = uint64_t{1} << 16;

// Upper bounds that keep every size computation far from overflow and catch typos.
constexpr int64_t kMaxEmbd = 1 << 16, kMaxFf = 1 << 18, kMaxLayer = 1024, kMaxVocab = 1 << 22,
                  kMaxCtx = 1 << 24;

enum class Fill { kEmbedding, kNorm, kTernary };

struct TensorSpec {
  std::string name;
  GgmlType type;
  std::vector<uint64_t> ne;
  Fill fill;
  std::string hf_name;  // the Hugging Face tensor it comes from (the llama layout's sort key)
};

}  // namespace

std::optional<GgmlType> OutputType(const SynthConfig& c) {
  if (!c.untied_output) return std::nullopt;
  if (c.output_type) return c.output_type;
  return c.n_embd % 256 == 0 ? GgmlType::kF16 : GgmlType::kQ8_0;
}

GgmlType TokenEmbdType(const SynthConfig& c) {
  if (c.token_embd_type) return *c.token_embd_type;
  // llama-quantize keeps token_embd in F16 next to an output.weight; a tied one gets the
  // output's type: F16 only when its rows fill whole 256-value super-blocks.
  if (c.untied_output) return GgmlType::kF16;
  return c.n_embd % 256 == 0 ? GgmlType::kF16 : GgmlType::kQ8_0;
}

namespace {

// bitnet-b1.58: bitnet.cpp's tensor order (as llama-quantize writes it; see the golden models):
// token_embd, then each block's tensors, then output_norm. llama: the order of the converter's
// input, the Hugging Face names sorted as strings (safetensors lists a file's tensors sorted, and
// llama-quantize keeps the order): lm_head, embed_tokens, the layers (0, 1, 10, 11, ..., 2, ...),
// model.norm.
std::vector<TensorSpec> TensorSpecs(const SynthConfig& c) {
  const uint64_t e = c.n_embd, f = c.n_ff, kv = c.n_head_kv * (c.n_embd / c.n_head);
  const bool llama = c.arch == kLlamaArch;
  std::vector<TensorSpec> specs;
  if (const std::optional<GgmlType> out = OutputType(c)) {
    specs.push_back(
        {"output.weight", *out, {e, uint64_t(c.n_vocab)}, Fill::kEmbedding, "lm_head.weight"});
  }
  specs.push_back({"token_embd.weight",
                   TokenEmbdType(c),
                   {e, uint64_t(c.n_vocab)},
                   Fill::kEmbedding,
                   "model.embed_tokens.weight"});
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const std::string hf = "model.layers." + std::to_string(l) + ".";
    const auto norm = [&](const char* n, uint64_t size, const char* hf_n) {
      specs.push_back({p + n + ".weight", GgmlType::kF32, {size}, Fill::kNorm, hf + hf_n});
    };
    const auto ternary = [&](const char* n, uint64_t k, uint64_t rows, const char* hf_n) {
      specs.push_back({p + n + ".weight", GgmlType::kI2_S, {k, rows}, Fill::kTernary, hf + hf_n});
    };
    norm("attn_norm", e, "input_layernorm.weight");
    ternary("attn_q", e, e, "self_attn.q_proj.weight");
    ternary("attn_k", e, kv, "self_attn.k_proj.weight");
    ternary("attn_v", e, kv, "self_attn.v_proj.weight");
    ternary("attn_output", e, e, "self_attn.o_proj.weight");
    if (!llama) norm("attn_sub_norm", e, "self_attn.inner_attn_ln.weight");
    norm("ffn_norm", e, "post_attention_layernorm.weight");
    ternary("ffn_gate", e, f, "mlp.gate_proj.weight");
    ternary("ffn_up", e, f, "mlp.up_proj.weight");
    ternary("ffn_down", f, e, "mlp.down_proj.weight");
    if (!llama) norm("ffn_sub_norm", f, "mlp.ffn_layernorm.weight");
  }
  specs.push_back({"output_norm.weight", GgmlType::kF32, {e}, Fill::kNorm, "model.norm.weight"});
  if (llama) {
    std::stable_sort(specs.begin(), specs.end(), [](const TensorSpec& a, const TensorSpec& b) {
      return a.hf_name < b.hf_name;
    });
  }
  return specs;
}

// The tokenizer keys, copied from another GGUF (--vocab-from) or from the built-in vocabulary.
// AddModelKeys places them among the model keys where each layout has them.
class TokenizerKeys : public VocabKeys {
 public:
  explicit TokenizerKeys(const SynthConfig& c) {
    if (c.vocab_from.empty()) {
      vocab_ = c.vocab == SynthConfig::Vocab::kSpm ? SpmVocab(c.n_vocab) : BuiltinVocab(c.n_vocab);
      n_vocab_ = c.n_vocab;
      return;
    }
    file_ = gguf::GgufFile::Open(c.vocab_from);
    const gguf::Value* tokens = file_->Find("tokenizer.ggml.tokens");
    if (tokens == nullptr || file_->Find("tokenizer.ggml.model") == nullptr) {
      Fail(c.vocab_from, " has no tokenizer (tokenizer.ggml.model and tokenizer.ggml.tokens)");
    }
    n_vocab_ = static_cast<int64_t>(tokens->AsArray("tokenizer.ggml.tokens").count);
    for (const char* key : {"tokenizer.ggml.scores", "tokenizer.ggml.token_type"}) {
      const gguf::Value* v = file_->Find(key);
      if (v != nullptr && v->AsArray(key).count != static_cast<uint64_t>(n_vocab_)) {
        Fail(c.vocab_from, ": ", key, " has ", v->AsArray(key).count, " entries for ", n_vocab_,
             " tokens");
      }
    }
    if (c.n_vocab != 0 && c.n_vocab != n_vocab_) {
      Fail("--n-vocab ", c.n_vocab, " differs from the ", n_vocab_, " tokens of ", c.vocab_from);
    }
  }

  int64_t n_vocab() const { return n_vocab_; }

  void AddBos(gguf::GgufWriter& w) const override {
    if (!file_ || !w.CopyKv(*file_, "tokenizer.ggml.add_bos_token")) {
      w.AddKv("tokenizer.ggml.add_bos_token", KvValue::Bool(true));
    }
  }

  // tokenizer.ggml.model .. tokenizer.chat_template, in the bitnet-b1.58 file's order.
  void AddBitnetVocab(gguf::GgufWriter& w) const override {
    if (file_) {
      w.CopyKv(*file_, "tokenizer.ggml.model");
      w.CopyKv(*file_, "tokenizer.ggml.tokens");
      if (!w.CopyKv(*file_, "tokenizer.ggml.scores")) {
        w.AddKv("tokenizer.ggml.scores", KvValue::F32Array(std::vector<float>(n_vocab_, 0.0f)));
      }
      AddTokenTypes(w);
      CopyIds(w);
      if (!w.CopyKv(*file_, "tokenizer.chat_template")) {
        w.AddKv("tokenizer.chat_template", KvValue::String(kBitnetChatTemplate));
      }
      return;
    }
    w.AddKv("tokenizer.ggml.model", KvValue::String(BuiltinModel()));
    // The converter's sentencepiece path writes pre "default" (its gpt2 path none here).
    if (vocab_.spm) w.AddKv("tokenizer.ggml.pre", KvValue::String("default"));
    w.AddKv("tokenizer.ggml.tokens", KvValue::StringArray(vocab_.tokens));
    w.AddKv("tokenizer.ggml.scores", KvValue::F32Array(vocab_.scores));
    AddBuiltinIds(w);
    w.AddKv("tokenizer.chat_template", KvValue::String(kBitnetChatTemplate));
  }

  // The llama layout's tokenizer keys: the converter's gpt2 path writes no scores, and
  // add_bos_token after the ids. With the built-in vocabulary there is no pre-tokenizer type and
  // no chat template, as in golden-more's llama files; a --vocab-from file's are kept (where the
  // converter writes them: pre after model, the template last).
  void AddLlamaVocab(gguf::GgufWriter& w) const override {
    if (file_) {
      w.CopyKv(*file_, "tokenizer.ggml.model");
      w.CopyKv(*file_, "tokenizer.ggml.pre");
      w.CopyKv(*file_, "tokenizer.ggml.tokens");
      w.CopyKv(*file_, "tokenizer.ggml.scores");  // where it has them (sentencepiece does)
      AddTokenTypes(w);
      CopyIds(w);
      AddBos(w);
      w.CopyKv(*file_, "tokenizer.chat_template");
      return;
    }
    w.AddKv("tokenizer.ggml.model", KvValue::String(BuiltinModel()));
    if (vocab_.spm) w.AddKv("tokenizer.ggml.pre", KvValue::String("default"));
    w.AddKv("tokenizer.ggml.tokens", KvValue::StringArray(vocab_.tokens));
    // The converter's sentencepiece path writes scores (its gpt2 path does not).
    if (vocab_.spm) w.AddKv("tokenizer.ggml.scores", KvValue::F32Array(vocab_.scores));
    AddBuiltinIds(w);
    AddBos(w);
  }

 private:
  void AddTokenTypes(gguf::GgufWriter& w) const {
    if (!w.CopyKv(*file_, "tokenizer.ggml.token_type")) {
      std::vector<int32_t> types(n_vocab_, kTokenNormal);
      w.AddKv("tokenizer.ggml.token_type", KvValue::I32Array(types));
    }
  }
  void CopyIds(gguf::GgufWriter& w) const {
    for (const char* key : {"tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id",
                            "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
                            "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_space_prefix"}) {
      w.CopyKv(*file_, key);
    }
  }
  const char* BuiltinModel() const { return vocab_.spm ? "llama" : "gpt2"; }
  // token_type .. padding_token_id of the built-in vocabulary (a sentencepiece one has no
  // merges and no padding, and an unknown token).
  void AddBuiltinIds(gguf::GgufWriter& w) const {
    w.AddKv("tokenizer.ggml.token_type", KvValue::I32Array(vocab_.token_types));
    if (vocab_.spm) {
      w.AddKv("tokenizer.ggml.bos_token_id", KvValue::U32(vocab_.bos_id));
      w.AddKv("tokenizer.ggml.eos_token_id", KvValue::U32(vocab_.eos_id));
      w.AddKv("tokenizer.ggml.unknown_token_id", KvValue::U32(vocab_.unk_id));
      return;
    }
    w.AddKv("tokenizer.ggml.merges", KvValue::StringArray(vocab_.merges));
    w.AddKv("tokenizer.ggml.bos_token_id", KvValue::U32(vocab_.bos_id));
    w.AddKv("tokenizer.ggml.eos_token_id", KvValue::U32(vocab_.eos_id));
    w.AddKv("tokenizer.ggml.padding_token_id", KvValue::U32(vocab_.padding_id));
  }

  std::unique_ptr<gguf::GgufFile> file_;
  Vocab vocab_;
  int64_t n_vocab_ = 0;
};

// An independent random stream per tensor, so that a tensor can be regenerated on its own.
uint64_t TensorSeed(uint64_t seed, size_t index) {
  uint64_t state = seed;
  state = SplitMix64(state) ^ (0xd1b54a32d192ed03ull * (index + 1));
  return SplitMix64(state);
}

// Streams one tensor's bytes into the writer, reporting work units (elements; ternary
// tensors count twice because they take two passes).
class TensorFiller {
 public:
  TensorFiller(gguf::GgufWriter& writer, uint64_t total, const ProgressFn& progress,
               Q6KQuantizer quantize_q6_k)
      : writer_(writer), total_(total), progress_(progress), quantize_q6_k_(quantize_q6_k) {}

  void Fill(const TensorSpec& spec, uint64_t seed) {
    uint64_t n = 1;
    for (uint64_t d : spec.ne) n *= d;
    switch (spec.fill) {
      case Fill::kNorm:
        return Norm(n, seed);
      case Fill::kEmbedding:
        if (spec.type == GgmlType::kF16) return EmbeddingF16(n, seed);
        if (spec.type == GgmlType::kQ6_K) return EmbeddingQ6_K(n, seed);
        return EmbeddingQ8_0(n, seed);
      case Fill::kTernary:
        return Ternary(n, seed);
    }
  }

 private:
  void Advance(uint64_t units) {
    done_ += units;
    if (progress_) progress_(done_, total_);
  }
  template <typename T>
  void Emit(const std::vector<T>& v, size_t count) {
    writer_.WriteTensorData({reinterpret_cast<const uint8_t*>(v.data()), count * sizeof(T)});
  }

  // Norm weights: 1 + 0.1 N(0, 1), F32.
  void Norm(uint64_t n, uint64_t seed) {
    NormalSampler normal(seed);
    std::vector<float> out(n);
    for (float& x : out) x = 1.0f + 0.1f * normal.Next();
    Emit(out, n);
    Advance(n);
  }

  // token_embd: N(0, 1), rounded to F16 as llama-quantize converts the F32 source.
  void EmbeddingF16(uint64_t n, uint64_t seed) {
    NormalSampler normal(seed);
    std::vector<uint16_t> out(kChunk);
    for (uint64_t at = 0; at < n; at += kChunk) {
      const uint64_t m = std::min(kChunk, n - at);
      for (uint64_t i = 0; i < m; ++i) out[i] = FloatToHalf(normal.Next());
      Emit(out, m);
      Advance(m);
    }
  }

  // token_embd: N(0, 1) in Q8_0 blocks, by ggml's reference quantizer (what llama-quantize
  // uses): d = amax/127 stored as F16, q = roundf(x / d).
  void EmbeddingQ8_0(uint64_t n, uint64_t seed) {
    constexpr uint64_t kBlock = 32, kBlockBytes = 34;
    NormalSampler normal(seed);
    std::vector<uint8_t> out(kChunk / kBlock * kBlockBytes);
    float x[kBlock];
    for (uint64_t at = 0; at < n; at += kChunk) {
      const uint64_t m = std::min(kChunk, n - at);  // n is a multiple of 32 (n_embd is of 128)
      for (uint64_t b = 0; b < m / kBlock; ++b) {
        float amax = 0.0f;
        for (float& v : x) amax = std::max(amax, std::fabs(v = normal.Next()));
        const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        uint8_t* block = out.data() + b * kBlockBytes;
        const uint16_t dh = FloatToHalf(d);
        std::memcpy(block, &dh, 2);
        for (uint64_t j = 0; j < kBlock; ++j) {
          block[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::roundf(x[j] * id)));
        }
      }
      writer_.WriteTensorData({out.data(), m / kBlock * kBlockBytes});
      Advance(m);
    }
  }

  // token_embd: N(0, 1) in Q6_K super-blocks, by the caller's quantizer (the F32 source that
  // llama-quantize --token-embedding-type q6_k reads). Blocks are independent, so a chunk (a
  // multiple of 256 values, as n is) is quantized on its own.
  void EmbeddingQ6_K(uint64_t n, uint64_t seed) {
    constexpr uint64_t kBlock = 256, kBlockBytes = 210;
    NormalSampler normal(seed);
    std::vector<float> x(kChunk);
    std::vector<uint8_t> out(kChunk / kBlock * kBlockBytes);
    for (uint64_t at = 0; at < n; at += kChunk) {
      const uint64_t m = std::min(kChunk, n - at);
      for (uint64_t i = 0; i < m; ++i) x[i] = normal.Next();
      quantize_q6_k_(x.data(), static_cast<int64_t>(m), out.data());
      writer_.WriteTensorData({out.data(), m / kBlock * kBlockBytes});
      Advance(m);
    }
  }

  // Linear weights: W ~ N(0, 1) ternarized as BitNet's converter does, W' = clamp(round(W*s),
  // -1, 1)/s with s = 1/mean|W| over the whole tensor, then stored by llama-quantize's I2_S rule
  // (scale = max|W'| = 1/s). The scale needs mean|W| before the first code can be written, so
  // the tensor's stream is drawn twice from the same seed: pass 1 sums |W|, pass 2 regenerates
  // the identical values and packs their codes. This is the converter's exact rule on the
  // sample, not an analytic approximation (E|W| = sqrt(2/pi)), at twice the sampling cost.
  void Ternary(uint64_t n, uint64_t seed) {
    double sum = 0.0;
    {
      NormalSampler normal(seed);
      for (uint64_t at = 0; at < n; at += kChunk) {
        const uint64_t m = std::min(kChunk, n - at);
        for (uint64_t i = 0; i < m; ++i) sum += std::fabs(normal.Next());
        Advance(m);
      }
    }
    const float mean = static_cast<float>(sum / static_cast<double>(n));
    const float s = 1.0f / std::max(mean, 1e-5f);
    NormalSampler normal(seed);
    std::vector<int8_t> w(kChunk);
    std::vector<uint8_t> packed(kChunk / 4);
    for (uint64_t at = 0; at < n; at += kChunk) {
      const uint64_t m = std::min(kChunk, n - at);  // a multiple of 128: n and kChunk are
      for (uint64_t i = 0; i < m; ++i) w[i] = i2s::TernaryOf(normal.Next(), s);
      i2s::PackWeights({w.data(), m}, packed.data());
      writer_.WriteTensorData({packed.data(), m / 4});
      Advance(m);
    }
    uint8_t trailer[i2s::kTrailerBytes];
    i2s::WriteTrailer(1.0f / s, trailer);  // max|W'|: every nonzero W' is +-1/s
    writer_.WriteTensorData(trailer);
  }

  gguf::GgufWriter& writer_;
  uint64_t total_;
  uint64_t done_ = 0;
  const ProgressFn& progress_;
  Q6KQuantizer quantize_q6_k_;
};

}  // namespace

void Validate(const SynthConfig& c) {
  const auto range = [](const char* flag, int64_t v, int64_t hi) {
    if (v <= 0 || v > hi) Fail("--", flag, " ", v, " is out of range (1 to ", hi, ")");
  };
  range("n-embd", c.n_embd, kMaxEmbd);
  range("n-ff", c.n_ff, kMaxFf);
  range("n-layer", c.n_layer, kMaxLayer);
  range("n-head", c.n_head, c.n_embd);
  range("n-head-kv", c.n_head_kv, c.n_head);
  range("n-ctx", c.n_ctx, kMaxCtx);
  if (!(c.rope_base > 1.0 && c.rope_base < 1e12)) {
    Fail("--rope-freq-base ", c.rope_base, " is out of range (above 1, below 1e12)");
  }
  if (!c.vocab_from.empty() && c.n_vocab == 0) {
    // the size comes from the vocabulary file
  } else if (c.vocab == SynthConfig::Vocab::kSpm) {
    if (c.n_vocab < MinSpmVocab() || c.n_vocab > kMaxVocab) {
      Fail("--n-vocab ", c.n_vocab, " is out of range (", MinSpmVocab(), " to ", kMaxVocab,
           ": the built-in sentencepiece vocabulary has 3 special, 256 byte and ",
           MinSpmVocab() - 259, " character tokens)");
    }
  } else if (c.n_vocab < kMinVocab || c.n_vocab > kMaxVocab) {
    Fail("--n-vocab ", c.n_vocab, " is out of range (", kMinVocab, " to ", kMaxVocab,
         ": the built-in vocabulary has 256 byte tokens and 8 control tokens)");
  }
  // bitnet.cpp's x86 I2_S kernels need every matmul input size to be a multiple of 128. n_embd
  // is held to that; n_ff only to 32 (a multiple of 128 over each whole ternary tensor, as
  // I2_S's blocks need), because 1bitLLM's 3B model has 8640: bitnet.cpp computes its
  // ffn_down wrongly, bitjit exactly.
  if (c.n_embd % 128 != 0) Fail("--n-embd ", c.n_embd, " is not a multiple of 128");
  if (c.n_ff % 32 != 0) Fail("--n-ff ", c.n_ff, " is not a multiple of 32");
  if (c.n_embd % c.n_head != 0) {
    Fail("--n-embd ", c.n_embd, " is not a multiple of --n-head ", c.n_head);
  }
  if (c.n_head % c.n_head_kv != 0) {
    Fail("--n-head ", c.n_head, " is not a multiple of --n-head-kv ", c.n_head_kv);
  }
  if ((c.n_embd / c.n_head) % 2 != 0) {
    Fail("head dim ", c.n_embd / c.n_head, " (n_embd / n_head) is odd: RoPE rotates pairs");
  }
  if (!(c.rms_eps > 0.0f && c.rms_eps < 1.0f)) {
    Fail("rms epsilon ", c.rms_eps, " is out of range (above 0, below 1)");
  }
  if (c.arch != kBitnetArch && c.arch != kLlamaArch) {
    Fail("--arch '", c.arch, "' is not one synth writes (", kBitnetArch, " or ", kLlamaArch, ")");
  }
  if (c.untied_output && c.arch != kLlamaArch) {
    Fail("an untied output.weight needs --arch ", kLlamaArch, " (bitnet.cpp ties ", kBitnetArch,
         "'s output to token_embd)");
  }
  if (const std::optional<GgmlType> out = OutputType(c)) {
    if (*out != GgmlType::kF16 && *out != GgmlType::kQ8_0) {
      Fail("output.weight type ", gguf::GgmlTypeName(static_cast<uint32_t>(*out)).value_or("?"),
           " is not one synth writes (F16 or Q8_0)");
    }
  }
  const GgmlType embd = TokenEmbdType(c);
  if (embd != GgmlType::kF16 && embd != GgmlType::kQ8_0 && embd != GgmlType::kQ6_K) {
    Fail("token_embd type ", gguf::GgmlTypeName(static_cast<uint32_t>(embd)).value_or("?"),
         " is not one synth writes (F16, Q8_0 or Q6_K)");
  }
  if (embd == GgmlType::kQ6_K) {
    if (c.n_embd % 256 != 0) {
      Fail("a Q6_K token_embd needs --n-embd a multiple of 256 (got ", c.n_embd, ")");
    }
    if (c.quantize_q6_k == nullptr) Fail("a Q6_K token_embd needs a Q6_K quantizer");
  }
  if (c.name.empty()) Fail("the model name is empty");
}

SynthResult WriteSyntheticModel(const SynthConfig& config, gguf::ByteSink& sink,
                                const ProgressFn& progress) {
  Validate(config);
  const TokenizerKeys tokenizer(config);
  SynthConfig c = config;
  c.n_vocab = tokenizer.n_vocab();
  if (c.n_vocab < 1 || c.n_vocab > kMaxVocab) {
    Fail("vocabulary of ", c.n_vocab, " tokens is out of range (1 to ", kMaxVocab, ")");
  }

  gguf::GgufWriter writer;
  AddModelKeys(writer,
               {c.arch, c.name, c.n_vocab, c.n_ctx, c.n_embd, c.n_layer, c.n_ff, c.n_head,
                c.n_head_kv, c.rms_eps, c.rope_base},
               tokenizer);
  const std::vector<TensorSpec> specs = TensorSpecs(c);
  uint64_t total = 0;
  for (const TensorSpec& spec : specs) {
    writer.AddTensor(spec.name, spec.type, spec.ne);
    uint64_t n = 1;
    for (uint64_t d : spec.ne) n *= d;
    total += spec.fill == Fill::kTernary ? 2 * n : n;
  }

  writer.WriteHeader(sink);
  TensorFiller filler(writer, total, progress, c.quantize_q6_k);
  for (size_t i = 0; i < specs.size(); ++i) filler.Fill(specs[i], TensorSeed(c.seed, i));
  writer.Finish();
  return {writer.file_size(), specs.size(), writer.kv_count(), c.n_vocab};
}

}  // namespace bitjit::synth
