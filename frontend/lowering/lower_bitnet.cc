#include "frontend/lowering/lower_bitnet.h"

#include <cstring>
#include <string>

#include "frontend/lowering/tensor_constant.h"
#include "ir/base/error.h"
#include "ir/verifier.h"

namespace bitjit {
namespace {

using ir::DType;
using ir::Graph;
using ir::kRows;
using ir::kTokens;
using ir::Numerics;
using ir::Shape;
using ir::Value;

class BitnetLowering {
 public:
  BitnetLowering(const gguf::GgufFile& file, const ModelConfig& c, Numerics numerics)
      : file_(file), c_(c), numerics_(numerics), g_(std::make_unique<Graph>(c.arch)) {}

  std::unique_ptr<Graph> Lower() {
    Value* tokens = g_->Input("tokens", DType::kI32, Shape{kTokens});
    positions_ = g_->Input("positions", DType::kI32, Shape{kTokens});
    Value* rows = g_->Input("output_rows", DType::kI32, Shape{kRows});
    Value* embd = Weight("token_embd.weight");

    Value* x = g_->Embedding(embd, tokens);
    for (int l = 0; l < c_.n_layer; ++l) x = Block(x, l);
    Value* h = NormMul(g_->GatherRows(x, rows, "select_rows"), "output_norm.weight");
    Value* table = c_.has_output ? Weight("output.weight") : embd;  // untied, or tied
    g_->Output(g_->LmHead(h, table, numerics_, "lm_head"), "logits");
    ir::VerifyOrThrow(*g_, "after lowering");
    return std::move(g_);
  }

 private:
  // One transformer block, as in ../shared/spec/MODEL.md. llama's block (bitnet.cpp's
  // build_llama with I2_S projections) has no sub-norms, NORM RoPE and a SiLU-gated FFN.
  Value* Block(Value* x, int l) {
    const bool llama = c_.is_llama();
    const ir::RopeType rope = llama ? ir::RopeType::kNorm : ir::RopeType::kNeox;
    const std::string p = "blk." + std::to_string(l) + ".";
    const int H = static_cast<int>(c_.n_head), Hkv = static_cast<int>(c_.n_head_kv);
    const int D = static_cast<int>(c_.head_dim);

    Value* h = NormMul(x, p + "attn_norm.weight");
    auto [hq, hs] = g_->QuantizeAct(h, p + "attn_in");
    Value* q = g_->TernaryMatmul(hq, hs, Weight(p + "attn_q.weight"), p + "attn_q");
    Value* k = g_->TernaryMatmul(hq, hs, Weight(p + "attn_k.weight"), p + "attn_k");
    Value* v = g_->TernaryMatmul(hq, hs, Weight(p + "attn_v.weight"), p + "attn_v");
    q = g_->Rope(q, positions_, H, D, c_.rope_base, numerics_, p + "rope_q", rope);
    k = g_->Rope(k, positions_, Hkv, D, c_.rope_base, numerics_, p + "rope_k", rope);
    Value* a = g_->Attention(q, k, v, positions_, l, H, Hkv, D, numerics_, p + "attn");
    if (!llama) a = NormMul(a, p + "attn_sub_norm.weight");
    x = g_->Add(x, BitLinear(a, p + "attn_output"), p + "attn_residual");

    h = NormMul(x, p + "ffn_norm.weight");
    auto [fq, fs] = g_->QuantizeAct(h, p + "ffn_in");
    Value* gate = g_->TernaryMatmul(fq, fs, Weight(p + "ffn_gate.weight"), p + "ffn_gate");
    Value* up = g_->TernaryMatmul(fq, fs, Weight(p + "ffn_up.weight"), p + "ffn_up");
    Value* act = llama ? g_->Silu(gate, p + "ffn_act") : g_->ReluSqr(gate, p + "ffn_act");
    Value* f = g_->Mul(act, up, p + "ffn_gate_up");
    if (!llama) f = NormMul(f, p + "ffn_sub_norm.weight");
    return g_->Add(x, BitLinear(f, p + "ffn_down"), p + "ffn_residual");
  }

  // rmsnorm(x) * weight
  Value* NormMul(Value* x, const std::string& weight) {
    const std::string label = weight.substr(0, weight.size() - std::strlen(".weight"));
    return g_->Mul(g_->RmsNorm(x, c_.rms_eps, label), Weight(weight), label);
  }

  Value* BitLinear(Value* x, const std::string& name) {
    auto [q, s] = g_->QuantizeAct(x, name + "_in");
    return g_->TernaryMatmul(q, s, Weight(name + ".weight"), name);
  }

  // A constant node for a tensor of the file (shapes were checked by ModelConfig).
  Value* Weight(const std::string& name) {
    TensorConstant t = MakeTensorConstant(file_, name);
    return g_->Constant(name, t.dtype, std::move(t.shape), std::move(t.data));
  }

  const gguf::GgufFile& file_;
  const ModelConfig& c_;
  Numerics numerics_;
  std::unique_ptr<Graph> g_;
  Value* positions_ = nullptr;
};

}  // namespace

std::unique_ptr<ir::Graph> LowerBitnet(const gguf::GgufFile& file, const ModelConfig& config,
                                       ir::Numerics numerics) {
  return BitnetLowering(file, config, numerics).Lower();
}

}  // namespace bitjit
