#include "tools/hf_convert.h"

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <vector>

#include "frontend/gguf/gguf_writer.h"
#include "frontend/hf/hf_checkpoint.h"
#include "frontend/hf/hf_vocab.h"
#include "frontend/i2s/i2s_codec.h"
#include "frontend/model/model_config.h"
#include "frontend/model/model_keys.h"
#include "ir/base/error.h"
#include "ir/base/half.h"
#include "ir/base/output_path.h"
#include "tools/i2s_quantizer.h"

namespace bitjit::cli {
namespace {

using gguf::GgmlType;
using hf::SafetensorsTensor;

enum class Kind { kNorm, kEmbedding, kProjection };

// One GGUF tensor and where it comes from.
struct Planned {
  std::string gguf_name;
  const SafetensorsTensor* source;
  const SafetensorsTensor* scale = nullptr;  // weight_scale of an offline-quantized projection
  Kind kind;
  uint64_t rows, cols;    // the HF shape [rows, cols] (cols = 1 for norms)
  int permute_heads = 0;  // q/k of arch llama: the heads whose rows are permuted
};

// "model.layers.N.<rest>" -> (N, rest); nullopt for other names.
std::optional<std::pair<int64_t, std::string>> LayerName(const std::string& name) {
  constexpr std::string_view kPrefix = "model.layers.";
  if (!name.starts_with(kPrefix)) return std::nullopt;
  const size_t dot = name.find('.', kPrefix.size());
  if (dot == std::string::npos || dot == kPrefix.size() || dot - kPrefix.size() > 6) {
    return std::nullopt;
  }
  int64_t n = 0;
  for (size_t i = kPrefix.size(); i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    n = n * 10 + (name[i] - '0');
  }
  return std::pair{n, name.substr(dot + 1)};
}

struct LayerTensor {
  const char* hf_suffix;
  const char* gguf;
  Kind kind;
};
// The HF names of each block's tensors (2B-4T names its sub-norms attn_sub_norm and
// ffn_sub_norm; 1bitLLM's inner_attn_ln and ffn_layernorm).
constexpr LayerTensor kLayerTensors[] = {
    {"input_layernorm.weight", "attn_norm", Kind::kNorm},
    {"self_attn.q_proj.weight", "attn_q", Kind::kProjection},
    {"self_attn.k_proj.weight", "attn_k", Kind::kProjection},
    {"self_attn.v_proj.weight", "attn_v", Kind::kProjection},
    {"self_attn.o_proj.weight", "attn_output", Kind::kProjection},
    {"self_attn.attn_sub_norm.weight", "attn_sub_norm", Kind::kNorm},
    {"self_attn.inner_attn_ln.weight", "attn_sub_norm", Kind::kNorm},
    {"post_attention_layernorm.weight", "ffn_norm", Kind::kNorm},
    {"mlp.gate_proj.weight", "ffn_gate", Kind::kProjection},
    {"mlp.up_proj.weight", "ffn_up", Kind::kProjection},
    {"mlp.down_proj.weight", "ffn_down", Kind::kProjection},
    {"mlp.ffn_sub_norm.weight", "ffn_sub_norm", Kind::kNorm},
    {"mlp.ffn_layernorm.weight", "ffn_sub_norm", Kind::kNorm},
};
// bitnet-b1.58's canonical order within a block.
constexpr const char* kBitnetBlockOrder[] = {
    "attn_norm", "attn_q",   "attn_k", "attn_v",   "attn_output", "attn_sub_norm",
    "ffn_norm",  "ffn_gate", "ffn_up", "ffn_down", "ffn_sub_norm"};

class Planner {
 public:
  Planner(const hf::HfConfig& c, const hf::HfCheckpoint& ckpt) : c_(c), ckpt_(ckpt) {}

  std::vector<Planned> Plan() {
    const bool llama = c_.arch == kLlamaArch;
    std::map<std::string, Planned> by_name;
    std::vector<std::string> checkpoint_order;
    for (const SafetensorsTensor* t : ckpt_.tensors()) {
      const std::string& name = t->name;
      if (name.ends_with(".weight_scale") || name.ends_with(".rotary_emb.inv_freq")) continue;
      Planned p = Map(*t);
      if (p.gguf_name.empty()) continue;  // a tied lm_head copy
      if (by_name.count(p.gguf_name)) Fail("two checkpoint tensors map to ", p.gguf_name);
      checkpoint_order.push_back(p.gguf_name);
      by_name.emplace(p.gguf_name, std::move(p));
    }
    std::vector<std::string> want = {"token_embd.weight"};
    if (!c_.tied) want.push_back("output.weight");
    for (int64_t l = 0; l < c_.n_layer; ++l) {
      for (const char* n : kBitnetBlockOrder) {
        const std::string name = "blk." + std::to_string(l) + "." + n + ".weight";
        if (llama && std::string_view(n).ends_with("sub_norm")) continue;
        want.push_back(name);
      }
    }
    want.push_back("output_norm.weight");
    for (const std::string& n : want) {
      if (!by_name.count(n)) Fail("the checkpoint has no tensor for ", n);
    }
    if (by_name.size() != want.size()) {
      for (const auto& [n, p] : by_name) {
        if (std::find(want.begin(), want.end(), n) == want.end()) {
          Fail("checkpoint tensor '", p.source->name, "' (", n, ") does not belong in a ", c_.arch,
               " model of ", c_.n_layer, " layers");
        }
      }
    }
    // arch llama keeps the converter's order (the checkpoint's); bitnet-b1.58 the official one.
    const std::vector<std::string>& order = llama ? checkpoint_order : want;
    std::vector<Planned> plan;
    for (const std::string& n : order) plan.push_back(by_name.at(n));
    return plan;
  }

 private:
  Planned Map(const SafetensorsTensor& t) {
    const int64_t e = c_.n_embd, f = c_.n_ff, v = c_.n_vocab;
    const int64_t kv = c_.n_head_kv * (c_.n_embd / c_.n_head);
    if (t.name == "model.embed_tokens.weight")
      return Checked(t, "token_embd.weight", Kind::kEmbedding, v, e);
    if (t.name == "model.norm.weight") return Checked(t, "output_norm.weight", Kind::kNorm, e, 1);
    if (t.name == "lm_head.weight") {
      if (c_.tied) return {};  // tie_word_embeddings: token_embd is the output
      if (c_.arch != kLlamaArch) {
        Fail("lm_head.weight with tie_word_embeddings false: bitnet.cpp ties ", kBitnetArch,
             "'s output to token_embd");
      }
      return Checked(t, "output.weight", Kind::kEmbedding, v, e);
    }
    const auto layer = LayerName(t.name);
    if (!layer || layer->first >= c_.n_layer) Fail("unexpected checkpoint tensor '", t.name, "'");
    for (const LayerTensor& lt : kLayerTensors) {
      if (layer->second != lt.hf_suffix) continue;
      const std::string gguf = "blk." + std::to_string(layer->first) + "." + lt.gguf + ".weight";
      const std::string_view n = lt.gguf;
      if (lt.kind == Kind::kNorm) {
        if (c_.arch == kLlamaArch && n.ends_with("sub_norm")) {
          Fail("checkpoint tensor '", t.name, "' is a sub-norm, which arch llama has not");
        }
        return Checked(t, gguf, Kind::kNorm, n == "ffn_sub_norm" ? f : e, 1);
      }
      const int64_t rows = n == "attn_k" || n == "attn_v"     ? kv
                           : n == "ffn_gate" || n == "ffn_up" ? f
                                                              : e;
      const int64_t cols = n == "ffn_down" ? f : e;
      Planned p = Checked(t, gguf, Kind::kProjection, rows, cols);
      if (c_.arch == kLlamaArch && n == "attn_q") p.permute_heads = static_cast<int>(c_.n_head);
      if (c_.arch == kLlamaArch && n == "attn_k") p.permute_heads = static_cast<int>(c_.n_head_kv);
      return p;
    }
    Fail("unexpected checkpoint tensor '", t.name, "'");
  }

  // Checks the HF shape [rows, cols] (packed projections: [rows / 4, cols] of U8 with a
  // weight_scale of one value).
  Planned Checked(const SafetensorsTensor& t, std::string gguf, Kind kind, int64_t rows,
                  int64_t cols) {
    Planned p{std::move(gguf), &t, nullptr, kind, uint64_t(rows), uint64_t(cols)};
    const std::string stem = t.name.substr(0, t.name.size() - std::string_view(".weight").size());
    const SafetensorsTensor* scale =
        kind == Kind::kProjection ? ckpt_.Find(stem + ".weight_scale") : nullptr;
    std::vector<uint64_t> want = {uint64_t(rows)};
    if (kind != Kind::kNorm) want.push_back(uint64_t(cols));
    if (scale != nullptr) {
      if (t.dtype != hf::Dtype::kU8 || rows % 4 != 0) {
        Fail("tensor '", t.name, "' has a weight_scale but is not U8 codes packed 4 per byte");
      }
      if (scale->n_elements != 1) Fail("tensor '", scale->name, "' is not a single value");
      want[0] = uint64_t(rows) / 4;
      p.scale = scale;
    } else if (t.dtype != hf::Dtype::kF32 && t.dtype != hf::Dtype::kF16 &&
               t.dtype != hf::Dtype::kBF16) {
      Fail("tensor '", t.name, "' has dtype ", hf::DtypeName(t.dtype),
           " (expected F32, F16 or BF16, or U8 with a weight_scale)");
    }
    if (t.shape != want) {
      std::string got;
      for (uint64_t d : t.shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
      Fail("tensor '", t.name, "' has shape [", got, "], expected [", want[0],
           want.size() > 1 ? ", " + std::to_string(want[1]) : std::string(), "] from config.json");
    }
    return p;
  }

  const hf::HfConfig& c_;
  const hf::HfCheckpoint& ckpt_;
};

// The converter's LlamaModel.permute on rows: per head of d rows, row 2i + j <- row j·d/2 + i.
std::vector<float> PermuteRows(const std::vector<float>& w, uint64_t rows, uint64_t cols,
                               int heads) {
  const uint64_t d = rows / heads, half = d / 2;
  std::vector<float> out(w.size());
  for (uint64_t h = 0; h < static_cast<uint64_t>(heads); ++h)
    for (uint64_t i = 0; i < half; ++i)
      for (uint64_t j = 0; j < 2; ++j)
        std::memcpy(&out[(h * d + 2 * i + j) * cols], &w[(h * d + j * half + i) * cols],
                    cols * sizeof(float));
  return out;
}

// An offline-quantized projection: codes packed along the rows (row i·rows/4 + r is bits 2i of
// packed row r), W = (c - 1) / weight_scale.
std::vector<float> Unpack(const Planned& p) {
  const std::vector<float> scale = hf::ToFloats(*p.scale);
  const float ws = scale[0];
  if (!(std::isfinite(ws) && ws != 0.0f)) Fail("tensor '", p.scale->name, "' is ", ws);
  const uint64_t packed_rows = p.rows / 4, cols = p.cols;
  std::vector<float> w(p.rows * cols);
  const uint8_t* data = p.source->data.data();
  for (uint64_t i = 0; i < 4; ++i)
    for (uint64_t r = 0; r < packed_rows; ++r)
      for (uint64_t k = 0; k < cols; ++k) {
        const int code = (data[r * cols + k] >> (2 * i)) & 3;
        if (code == 3) Fail("tensor '", p.source->name, "' holds code 3, which is not ternary");
        w[(i * packed_rows + r) * cols + k] = static_cast<float>(code - 1) / ws;
      }
  return w;
}

std::vector<float> Values(const Planned& p, ConvertSummary* summary) {
  if (p.kind != Kind::kProjection) return hf::ToFloats(*p.source);
  std::vector<float> w;
  if (p.scale != nullptr) {
    w = Unpack(p);
    ++summary->n_packed;
  } else {
    w = i2s::TernarizeLikeConverter(hf::ToFloats(*p.source));
    // weight_quant returns its input's dtype: F16 masters come back rounded to F16.
    if (p.source->dtype == hf::Dtype::kF16)
      for (float& x : w) x = RoundToHalf(x);
    ++summary->n_ternarized;
  }
  if (p.permute_heads > 0) w = PermuteRows(w, p.rows, p.cols, p.permute_heads);
  return w;
}

std::string DirName(const std::string& dir) {
  std::filesystem::path p(dir);
  if (!p.has_filename()) p = p.parent_path();  // "dir/"
  return std::filesystem::absolute(p).filename().string();
}

}  // namespace

ConvertSummary WriteF32Gguf(const std::string& hf_dir, const std::string& f32_path,
                            const ConvertOptions& options) {
  const hf::HfConfig config = hf::ReadHfConfig(hf_dir);
  const auto ckpt = hf::HfCheckpoint::Open(hf_dir);
  const hf::HfVocab vocab(hf_dir, config, options.pre);
  const std::vector<Planned> plan = Planner(config, *ckpt).Plan();

  gguf::GgufWriter writer;
  // The converter names the model after its directory.
  AddModelKeys(
      writer,
      {config.arch, DirName(hf_dir), config.n_vocab, config.n_ctx, config.n_embd, config.n_layer,
       config.n_ff, config.n_head, config.n_head_kv, config.rms_eps, config.rope_base},
      vocab, {.file_type = 0, .quantization_version = false});
  for (const Planned& p : plan) {
    std::vector<uint64_t> ne = {p.cols, p.rows};
    if (p.kind == Kind::kNorm) ne = {p.rows};
    writer.AddTensor(p.gguf_name, GgmlType::kF32, ne);
  }
  gguf::FileSink sink(f32_path);
  writer.WriteHeader(sink);
  ConvertSummary summary{config.arch, plan.size(), 0, 0, vocab.pre()};
  for (const Planned& p : plan) {
    const std::vector<float> v = Values(p, &summary);
    writer.WriteTensorData({reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4});
  }
  writer.Finish();
  sink.Commit();
  return summary;
}

ConvertSummary ConvertHfToI2S(const std::string& hf_dir, const std::string& out_path,
                              const ConvertOptions& options) {
  CheckOutputPath(out_path);  // before the long first step: fail fast
  const hf::HfConfig config = hf::ReadHfConfig(hf_dir);
  GgmlType embd = options.token_embd_type;
  if (embd == GgmlType::kF32) {
    embd = !config.tied || config.n_embd % 256 == 0 ? GgmlType::kF16 : GgmlType::kQ8_0;
  }
  const std::string f32_path = out_path + ".f32-" + std::to_string(::getpid()) + ".tmp";
  struct RemoveOnExit {
    std::string path;
    ~RemoveOnExit() {
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
  } remove{f32_path};
  const ConvertSummary summary = WriteF32Gguf(hf_dir, f32_path, options);
  QuantizeToI2S(f32_path, out_path, embd);
  return summary;
}

}  // namespace bitjit::cli
