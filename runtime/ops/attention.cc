// Causal attention over one layer's KV cache: this step's K and V rows go into the cache, then
// each query row attends to its sequence's positions 0..pos. bitnet.cpp rounds q, the scores
// and softmax to F16 in some places and not in others, by batch shape
// (ref::BitnetAttentionParams); both paths take those decisions per token from the layout.
#include <glog/logging.h>

#include <cstring>
#include <vector>

#include "codegen/ref/ref_kernels.h"
#include "codegen/simd/attention_f16.h"
#include "codegen/simd/elementwise_avx2.h"
#include "ir/base/half.h"
#include "runtime/ops/op_step.h"
#include "runtime/ops/step_context.h"

namespace bitjit::ops {
namespace {

struct Widths {
  int64_t q, kv;
};

Widths WidthsOf(const ir::Attrs& a) {
  return {int64_t{a.n_head} * a.head_dim, int64_t{a.n_head_kv} * a.head_dim};
}

ref::AttentionParams ParamsFor(const ir::Attrs& a, const BatchLayout& layout, int64_t t) {
  if (a.numerics != ir::Numerics::kBitnet) return {a.n_head, a.n_head_kv, a.head_dim, false, false};
  return ref::BitnetAttentionParams(a.n_head, a.n_head_kv, a.head_dim, layout.decode(t));
}

// Appends this step's K and V rows to the cache (F16 or F32), `to_half` converting a row.
template <typename ToHalf>
void WriteCache(const ir::Node& node, StepContext& ctx, ToHalf to_half) {
  const ir::Attrs& a = node.attrs;
  const int64_t kv_width = WidthsOf(a).kv;
  const float* k = ctx.Data(node.operands[1]);
  const float* v = ctx.Data(node.operands[2]);
  const int32_t* pos = ctx.Data<int32_t>(node.operands[3]);
  KvCache& cache = ctx.cache;
  for (int64_t t = 0; t < ctx.n_tokens; ++t) {
    const int64_t s = ctx.Seq(t);
    CHECK(pos[t] >= 0 && pos[t] < cache.n_ctx() && s >= 0 && s < cache.n_seq());
    if (cache.f16()) {
      to_half(k + t * kv_width, kv_width, cache.k16(a.layer, pos[t], s));
      to_half(v + t * kv_width, kv_width, cache.v16(a.layer, pos[t], s));
    } else {
      std::memcpy(cache.k32(a.layer, pos[t], s), k + t * kv_width, kv_width * sizeof(float));
      std::memcpy(cache.v32(a.layer, pos[t], s), v + t * kv_width, kv_width * sizeof(float));
    }
  }
}

// The reference: one query row at a time, all heads (ref::AttentionRow*).
class ReferenceAttentionStep : public OpStep {
 public:
  explicit ReferenceAttentionStep(const ir::Node& node) : OpStep(node, "ref") {}
  void Run(StepContext& ctx) const override {
    WriteCache(node_, ctx, [](const float* x, int64_t n, uint16_t* out) {
      for (int64_t i = 0; i < n; ++i) out[i] = FloatToHalf(x[i]);
    });
    const ir::Attrs& a = node_.attrs;
    const int64_t q_width = WidthsOf(a).q;
    const float* q = ctx.Data(node_.operands[0]);
    const int32_t* pos = ctx.Data<int32_t>(node_.operands[3]);
    float* out = ctx.Data(node_.result());
    KvCache& cache = ctx.cache;
    std::vector<float> scores(static_cast<size_t>(cache.n_ctx()));
    for (int64_t t = 0; t < ctx.n_tokens; ++t) {
      const ref::AttentionParams p = ParamsFor(a, ctx.layout, t);
      const int64_t s = ctx.Seq(t), n_kv = pos[t] + 1;
      if (cache.f16()) {
        ref::AttentionRowF16Cache(q + t * q_width, cache.k16(a.layer, 0, s),
                                  cache.v16(a.layer, 0, s), n_kv, p, scores.data(),
                                  out + t * q_width);
      } else {
        ref::AttentionRowF32Cache(q + t * q_width, cache.k32(a.layer, 0, s),
                                  cache.v32(a.layer, 0, s), n_kv, p, scores.data(),
                                  out + t * q_width);
      }
    }
  }
};

// The JIT path: on the F16 cache one task per (token, head) in AVX2, in bitnet.cpp's
// roundings and order of additions (attention_f16.h: bit-identical to the reference row
// kernel); on the F32 cache (--numerics f32) the reference row kernel, one task per token.
class JitAttentionStep : public OpStep {
 public:
  explicit JitAttentionStep(const ir::Node& node) : OpStep(node, "AttentionHeadF16Avx2") {}
  void Run(StepContext& ctx) const override {
    WriteCache(node_, ctx, kernels::FloatsToHalvesF16c);
    const ir::Attrs& a = node_.attrs;
    // Plain variables: clang 14 cannot capture structured bindings in lambdas (C++20 can).
    const Widths widths = WidthsOf(a);
    const int64_t q_width = widths.q, kv_width = widths.kv;
    const float* q = ctx.Data(node_.operands[0]);
    const int32_t* pos = ctx.Data<int32_t>(node_.operands[3]);
    float* out = ctx.Data(node_.result());
    KvCache& cache = ctx.cache;
    auto& scores = ctx.scratch.scores;
    scores.resize(ctx.pool.n_threads());
    if (!cache.f16()) {
      const ref::AttentionParams p{a.n_head, a.n_head_kv, a.head_dim, false, false};
      for (auto& s : scores) s.resize(cache.n_ctx());
      ctx.pool.ParallelFor(ctx.n_tokens, [&](int64_t t, int thread) {
        ref::AttentionRowF32Cache(q + t * q_width, cache.k32(a.layer, 0, ctx.Seq(t)),
                                  cache.v32(a.layer, 0, ctx.Seq(t)), pos[t] + 1, p,
                                  scores[thread].data(), out + t * q_width);
      });
      return;
    }
    const int group = a.n_head / a.n_head_kv;
    for (auto& s : scores) s.resize(kernels::AttentionScratchFloats(a.head_dim, cache.n_ctx()));
    ctx.pool.ParallelFor(ctx.n_tokens * a.n_head, [&](int64_t task, int thread) {
      const int64_t t = task / a.n_head;
      const int h = static_cast<int>(task % a.n_head);
      const ref::AttentionParams p = ParamsFor(a, ctx.layout, t);
      kernels::AttentionHeadF16Avx2(
          q + t * q_width + int64_t{h} * a.head_dim, cache.k16(a.layer, 0, ctx.Seq(t)),
          cache.v16(a.layer, 0, ctx.Seq(t)), kv_width, int64_t{h / group} * a.head_dim, pos[t] + 1,
          a.head_dim, p.round_q, p.round_p, scores[thread].data(),
          out + t * q_width + int64_t{h} * a.head_dim);
    });
  }
};

}  // namespace

std::unique_ptr<OpStep> PrepareAttention(const ir::Node& node, const PrepareContext& ctx) {
  if (ctx.compiled) return std::make_unique<JitAttentionStep>(node);
  return std::make_unique<ReferenceAttentionStep>(node);
}

}  // namespace bitjit::ops
