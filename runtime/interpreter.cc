#include "runtime/interpreter.h"

#include <glog/logging.h>

#include <cstring>
#include <unordered_map>
#include <vector>

#include "codegen/ref/ref_kernels.h"
#include "codegen/ref/ternary_ref.h"
#include "ir/base/error.h"
#include "ir/base/half.h"
#include "runtime/batch_layout.h"

namespace bitjit {
namespace {

using ir::DType;
using ir::Node;
using ir::OpKind;
using ir::Value;

// Storage of one value during a step.
struct Buffer {
  std::vector<float> f32;
  std::vector<int8_t> i8;
  std::vector<int32_t> i32;
  const uint8_t* constant = nullptr;  // weights: a view
};

class Step {
 public:
  Step(const StepInputs& in, KvCache& cache) : in_(in), cache_(cache), layout_(in) {
    n_tokens_ = static_cast<int64_t>(in.tokens.size());
    n_rows_ = static_cast<int64_t>(in.output_rows.size());
  }

  void Run(const ir::Graph& graph, float* logits) {
    for (const auto& node : graph.nodes()) Execute(*node, logits);
  }

 private:
  int32_t Seq(int64_t t) const { return in_.seq_ids.empty() ? 0 : in_.seq_ids[t]; }

  int64_t Dim(const Value* v, int i) const {
    const int64_t d = v->shape[i];
    return d == ir::kTokens ? n_tokens_ : d == ir::kRows ? n_rows_ : d;
  }
  int64_t Count(const Value* v) const { return v->shape.NumElements(n_tokens_, n_rows_); }
  Buffer& Buf(const Value* v) { return buffers_[v]; }
  std::vector<float>& F32(const Value* v) { return Buf(v).f32; }
  std::vector<float>& NewF32(const Value* v) {
    auto& b = Buf(v).f32;
    b.assign(static_cast<size_t>(Count(v)), 0.0f);
    return b;
  }
  const uint8_t* Const(const Value* v) { return Buf(v).constant; }

  void Execute(const Node& n, float* logits) {
    const auto& ops = n.operands;
    switch (n.kind) {
      case OpKind::kInput: {
        auto& b = Buf(n.result()).i32;
        std::span<const int32_t> src = n.name == "tokens"      ? in_.tokens
                                       : n.name == "positions" ? in_.positions
                                                               : in_.output_rows;
        CHECK(n.name == "tokens" || n.name == "positions" || n.name == "output_rows") << n.name;
        b.assign(src.begin(), src.end());
        break;
      }
      case OpKind::kConstant:
        Buf(n.result()).constant = n.constant.data;
        Buf(n.result()).f32.clear();
        if (n.result()->dtype == DType::kF32) {  // norm weights: copy (tiny) for uniform access
          const auto* p = reinterpret_cast<const float*>(n.constant.data);
          Buf(n.result()).f32.assign(p, p + n.constant.n_bytes / 4);
        }
        break;
      case OpKind::kEmbedding: {
        const Value* table = ops[0];
        const int64_t e = table->shape[1], vocab = table->shape[0];
        auto& out = NewF32(n.result());
        const auto& ids = Buf(ops[1]).i32;
        for (size_t t = 0; t < ids.size(); ++t) {
          if (ids[t] < 0 || ids[t] >= vocab)
            Fail("token id ", ids[t], " is outside the vocabulary");
          if (table->dtype == DType::kF16) {
            ref::EmbeddingRowF16(reinterpret_cast<const uint16_t*>(Const(table)), e, ids[t],
                                 &out[t * e]);
          } else if (table->dtype == DType::kQ6_K) {
            ref::EmbeddingRowQ6_K(Const(table), e, ids[t], &out[t * e]);
          } else {
            ref::EmbeddingRowQ8_0(Const(table), e, ids[t], &out[t * e]);
          }
        }
        break;
      }
      case OpKind::kRmsNorm: {
        auto& out = NewF32(n.result());
        ref::RmsNorm(F32(ops[0]).data(), Dim(ops[0], 0), Dim(ops[0], 1), n.attrs.eps, out.data());
        break;
      }
      case OpKind::kMul:
      case OpKind::kAdd: {
        auto& out = NewF32(n.result());
        const auto& x = F32(ops[0]);
        const auto& y = F32(ops[1]);
        const size_t width = y.size();  // == x.size(), or one row that broadcasts
        for (size_t i = 0; i < out.size(); ++i) {
          const float b = y[i % width];
          out[i] = n.kind == OpKind::kMul ? x[i] * b : x[i] + b;
        }
        break;
      }
      case OpKind::kReluSqr: {
        auto& out = NewF32(n.result());
        const auto& x = F32(ops[0]);
        for (size_t i = 0; i < out.size(); ++i) {
          const float r = x[i] > 0.0f ? x[i] : 0.0f;
          out[i] = r * r;
        }
        break;
      }
      case OpKind::kSilu: {
        auto& out = NewF32(n.result());
        const auto& x = F32(ops[0]);
        for (size_t i = 0; i < out.size(); ++i) out[i] = ref::Silu(x[i]);
        break;
      }
      case OpKind::kQuantizeAct: {
        const int64_t rows = Dim(ops[0], 0), k = Dim(ops[0], 1);
        auto& codes = Buf(n.result(0)).i8;
        codes.resize(static_cast<size_t>(rows * k));
        auto& scales = Buf(n.result(1)).f32;
        scales.resize(static_cast<size_t>(rows));
        const auto& x = F32(ops[0]);
        for (int64_t r = 0; r < rows; ++r)
          scales[r] = ref::QuantizeRow(&x[r * k], k, &codes[r * k]);
        break;
      }
      case OpKind::kTernaryMatmul: {
        const Value* w = ops[2];
        const int64_t rows = Dim(ops[0], 0), k = w->shape[1], nout = w->shape[0];
        std::vector<int32_t> dot(static_cast<size_t>(rows * nout));
        ref::TernaryMatmulI32(Const(w), nout, k, Buf(ops[0]).i8.data(), rows, dot.data());
        auto& out = NewF32(n.result());
        ref::TernaryEpilogue(dot.data(), F32(ops[1]).data(), w->producer->constant.scale, rows,
                             nout, out.data());
        break;
      }
      case OpKind::kRope: {
        auto& out = NewF32(n.result());
        out = F32(ops[0]);
        const ir::Attrs& a = n.attrs;
        const bool bitnet = a.numerics == ir::Numerics::kBitnet;
        std::vector<float> cos_t(a.head_dim / 2), sin_t(a.head_dim / 2);
        for (int64_t r = 0; r < Dim(ops[0], 0); ++r) {
          ref::RopeAngles(Buf(ops[1]).i32[r], a.head_dim, a.rope_base, bitnet, cos_t.data(),
                          sin_t.data());
          float* row = out.data() + r * a.n_head * a.head_dim;
          (a.rope_type == ir::RopeType::kNorm ? ref::RopeNormRotate : ref::RopeNeoxRotate)(
              row, a.n_head, a.head_dim, cos_t.data(), sin_t.data(), bitnet);
        }
        break;
      }
      case OpKind::kAttention:
        Attention(n);
        break;
      case OpKind::kGatherRows: {
        const int64_t width = Dim(ops[0], 1);
        auto& out = NewF32(n.result());
        const auto& x = F32(ops[0]);
        const auto& rows = Buf(ops[1]).i32;
        for (size_t r = 0; r < rows.size(); ++r) {
          CHECK(rows[r] >= 0 && rows[r] < Dim(ops[0], 0));
          std::memcpy(&out[r * width], &x[rows[r] * width], width * sizeof(float));
        }
        break;
      }
      case OpKind::kLmHead: {
        const Value* table = ops[1];
        const int64_t rows = Dim(ops[0], 0), e = table->shape[1], vocab = table->shape[0];
        auto& out = NewF32(n.result());
        const bool bitnet = n.attrs.numerics == ir::Numerics::kBitnet;
        CHECK_EQ(rows, n_rows_);
        for (int64_t r = 0; r < rows; ++r) {
          const float* x = &F32(ops[0])[r * e];
          if (table->dtype == DType::kF16) {
            // bitnet.cpp rounds the input to f16 when its batch has a single logits row.
            ref::LmHeadF16(x, 1, e, reinterpret_cast<const uint16_t*>(Const(table)), vocab,
                           bitnet && layout_.single_row(r), &out[r * vocab]);
          } else if (table->dtype == DType::kQ6_K) {
            ref::LmHeadQ6_K(x, 1, e, Const(table), vocab, bitnet, &out[r * vocab]);
          } else {
            ref::LmHeadQ8_0(x, 1, e, Const(table), vocab, bitnet, &out[r * vocab]);
          }
        }
        break;
      }
      case OpKind::kBitLinear:
        BitLinear(n);
        break;
      case OpKind::kOutput: {
        const auto& x = F32(ops[0]);
        std::memcpy(logits, x.data(), x.size() * sizeof(float));
        break;
      }
    }
  }

  // The fused BitLinear: exactly the unfused ops' arithmetic, in the same order.
  void BitLinear(const Node& n) {
    const Value* x = n.bl_input();
    const int64_t rows = Dim(x, 0), k = Dim(x, 1);
    std::vector<float> in = F32(x);
    if (const Value* w = n.bl_norm()) {
      std::vector<float> normed(in.size());
      ref::RmsNorm(in.data(), rows, k, n.attrs.eps, normed.data());
      const auto& wv = F32(w);
      for (size_t i = 0; i < normed.size(); ++i) in[i] = normed[i] * wv[i % k];
    }
    std::vector<int8_t> codes(in.size());
    std::vector<float> scales(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) scales[r] = ref::QuantizeRow(&in[r * k], k, &codes[r * k]);
    std::vector<std::vector<float>> outs(n.attrs.n_weights);
    for (int i = 0; i < n.attrs.n_weights; ++i) {
      const Value* w = n.bl_weight(i);
      const int64_t nout = w->shape[0];
      std::vector<int32_t> dot(static_cast<size_t>(rows * nout));
      ref::TernaryMatmulI32(Const(w), nout, k, codes.data(), rows, dot.data());
      outs[i].resize(dot.size());
      ref::TernaryEpilogue(dot.data(), scales.data(), w->producer->constant.scale, rows, nout,
                           outs[i].data());
    }
    switch (n.attrs.epilogue) {
      case ir::Epilogue::kNone:
        for (int i = 0; i < n.attrs.n_weights; ++i) F32(n.result(i)) = std::move(outs[i]);
        break;
      case ir::Epilogue::kReluSqrMul: {
        auto& out = NewF32(n.result());
        for (size_t i = 0; i < out.size(); ++i) {
          const float g = outs[0][i] > 0.0f ? outs[0][i] : 0.0f;
          out[i] = (g * g) * outs[1][i];
        }
        break;
      }
      case ir::Epilogue::kSiluMul: {
        auto& out = NewF32(n.result());
        for (size_t i = 0; i < out.size(); ++i) out[i] = ref::Silu(outs[0][i]) * outs[1][i];
        break;
      }
      case ir::Epilogue::kResidualAdd: {
        auto& out = NewF32(n.result());
        const auto& res = F32(n.bl_residual());
        for (size_t i = 0; i < out.size(); ++i) out[i] = res[i] + outs[0][i];
        break;
      }
    }
  }

  // Writes this batch's K and V rows into the cache, then attends each query row causally.
  void Attention(const Node& n) {
    const auto& ops = n.operands;
    const ir::Attrs& a = n.attrs;
    const int64_t layer = a.layer, kv_width = int64_t{a.n_head_kv} * a.head_dim;
    const int64_t q_width = int64_t{a.n_head} * a.head_dim;
    const auto& q = F32(ops[0]);
    const auto& k = F32(ops[1]);
    const auto& v = F32(ops[2]);
    const auto& pos = Buf(ops[3]).i32;
    auto seq = [&](int64_t t) -> int64_t { return Seq(t); };
    for (int64_t t = 0; t < n_tokens_; ++t) {
      const int64_t p = pos[t];
      CHECK(p >= 0 && p < cache_.n_ctx() && seq(t) >= 0 && seq(t) < cache_.n_seq());
      if (cache_.f16()) {
        uint16_t* kc = cache_.k16(layer, p, seq(t));
        uint16_t* vc = cache_.v16(layer, p, seq(t));
        for (int64_t i = 0; i < kv_width; ++i) {
          kc[i] = FloatToHalf(k[t * kv_width + i]);
          vc[i] = FloatToHalf(v[t * kv_width + i]);
        }
      } else {
        std::memcpy(cache_.k32(layer, p, seq(t)), &k[t * kv_width], kv_width * sizeof(float));
        std::memcpy(cache_.v32(layer, p, seq(t)), &v[t * kv_width], kv_width * sizeof(float));
      }
    }
    const bool bitnet = a.numerics == ir::Numerics::kBitnet;
    auto& out = NewF32(n.result());
    std::vector<float> scratch(static_cast<size_t>(cache_.n_ctx()));
    for (int64_t t = 0; t < n_tokens_; ++t) {
      const ref::AttentionParams params =
          bitnet ? ref::BitnetAttentionParams(a.n_head, a.n_head_kv, a.head_dim, layout_.decode(t))
                 : ref::AttentionParams{a.n_head, a.n_head_kv, a.head_dim, false, false};
      const int64_t n_kv = pos[t] + 1;
      if (cache_.f16()) {
        ref::AttentionRowF16Cache(&q[t * q_width], cache_.k16(layer, 0, seq(t)),
                                  cache_.v16(layer, 0, seq(t)), n_kv, params, scratch.data(),
                                  &out[t * q_width]);
      } else {
        ref::AttentionRowF32Cache(&q[t * q_width], cache_.k32(layer, 0, seq(t)),
                                  cache_.v32(layer, 0, seq(t)), n_kv, params, scratch.data(),
                                  &out[t * q_width]);
      }
    }
  }

  const StepInputs& in_;
  KvCache& cache_;
  BatchLayout layout_;
  int64_t n_tokens_ = 0, n_rows_ = 0;
  std::unordered_map<const Value*, Buffer> buffers_;
};

}  // namespace

void Interpreter::Forward(const StepInputs& in, KvCache& cache, float* logits) {
  Step(in, cache).Run(graph_, logits);
}

}  // namespace bitjit
