// Causal attention over one layer's KV cache: this step's K and V rows go into the cache, then
// each query row attends to its sequence's positions 0..pos. bitnet.cpp rounds q, the scores
// and softmax to F16 in some places and not in others, by batch shape
// (ref::BitnetAttentionParams); both paths take those decisions per token from the layout.
#include <glog/logging.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/ref/ref_kernels.h"
#include "codegen/simd/attention_f16.h"
#include "codegen/simd/attention_f16_block.h"
#include "codegen/simd/elementwise_avx2.h"
#include "ir/base/half.h"
#include "runtime/compiled_model.h"
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

// What the JIT steps read and write: this step's q rows, positions and output rows, their
// widths, and one scratch buffer per thread.
struct AttentionIo {
  const float* q;
  const int32_t* pos;
  float* out;
  int64_t q_width, kv_width;
  std::vector<std::vector<float>>* scratch;
};

// The JIT path: the cache write, then the F16 cache's kernel (RunF16) or, on the F32 cache
// (--numerics f32), the reference row kernel, one task per token.
class JitAttentionStep : public OpStep {
 public:
  using OpStep::OpStep;
  void Run(StepContext& ctx) const final {
    WriteCache(node_, ctx, kernels::FloatsToHalvesF16c);
    const Widths widths = WidthsOf(node_.attrs);
    auto& scratch = ctx.scratch.scores;
    scratch.resize(ctx.pool.n_threads());
    const AttentionIo io{ctx.Data(node_.operands[0]),
                         ctx.Data<int32_t>(node_.operands[3]),
                         ctx.Data(node_.result()),
                         widths.q,
                         widths.kv,
                         &scratch};
    if (ctx.cache.f16()) return RunF16(ctx, io);
    const ir::Attrs& a = node_.attrs;
    const ref::AttentionParams p{a.n_head, a.n_head_kv, a.head_dim, false, false};
    for (auto& s : scratch) s.resize(ctx.cache.n_ctx());
    ctx.pool.ParallelFor(ctx.n_tokens, [&](int64_t t, int thread) {
      ref::AttentionRowF32Cache(io.q + t * io.q_width, ctx.cache.k32(a.layer, 0, ctx.Seq(t)),
                                ctx.cache.v32(a.layer, 0, ctx.Seq(t)), io.pos[t] + 1, p,
                                scratch[thread].data(), io.out + t * io.q_width);
    });
  }

 protected:
  virtual void RunF16(StepContext& ctx, const AttentionIo& io) const = 0;
};

// On AVX2: one task per (token, head), in bitnet.cpp's roundings and order of additions
// (attention_f16.h: bit-identical to the reference row kernel).
class HeadAttentionStep : public JitAttentionStep {
 public:
  explicit HeadAttentionStep(const ir::Node& node)
      : JitAttentionStep(node, "AttentionHeadF16Avx2") {}

 protected:
  void RunF16(StepContext& ctx, const AttentionIo& io) const override {
    const ir::Attrs& a = node_.attrs;
    KvCache& cache = ctx.cache;
    auto& scratch = *io.scratch;
    for (auto& s : scratch) s.resize(kernels::AttentionScratchFloats(a.head_dim, cache.n_ctx()));
    const int group = a.n_head / a.n_head_kv;
    ctx.pool.ParallelFor(ctx.n_tokens * a.n_head, [&](int64_t task, int thread) {
      const int64_t t = task / a.n_head;
      const int h = static_cast<int>(task % a.n_head);
      const ref::AttentionParams p = ParamsFor(a, ctx.layout, t);
      const int64_t at = t * io.q_width + int64_t{h} * a.head_dim;
      kernels::AttentionHeadF16Avx2(io.q + at, cache.k16(a.layer, 0, ctx.Seq(t)),
                                    cache.v16(a.layer, 0, ctx.Seq(t)), io.kv_width,
                                    int64_t{h / group} * a.head_dim, io.pos[t] + 1, a.head_dim,
                                    p.round_q, p.round_p, scratch[thread].data(), io.out + at);
    });
  }
};

// Up to kAttentionBlockQueries queries that read the same K and V rows: `n_tok` consecutive
// tokens of one sequence (same roundings) times `n_heads` heads of one kv head's group.
struct QueryBlock {
  int64_t t0;
  int n_tok;
  int h0, n_heads;
};

// Blocks of the batch: a GQA group's heads first (they share n_kv, so even decode rows block),
// then consecutive prompt tokens up to the block size. ggml's P.V (decode rows) needs one n_kv
// per block: those take one token each.
std::vector<QueryBlock> BlocksOf(const ir::Attrs& a, const StepContext& ctx) {
  const int group = a.n_head / a.n_head_kv;
  const int heads = std::min(group, kernels::kAttentionBlockQueries);
  const int max_tok = std::max(1, kernels::kAttentionBlockQueries / heads);
  std::vector<QueryBlock> blocks;
  for (int64_t t0 = 0; t0 < ctx.n_tokens;) {
    const ref::AttentionParams p = ParamsFor(a, ctx.layout, t0);
    int n_tok = 1;
    while (!p.round_p && n_tok < max_tok && t0 + n_tok < ctx.n_tokens &&
           ctx.Seq(t0 + n_tok) == ctx.Seq(t0)) {
      const ref::AttentionParams next = ParamsFor(a, ctx.layout, t0 + n_tok);
      if (next.round_q != p.round_q || next.round_p != p.round_p) break;
      ++n_tok;
    }
    for (int kv = 0; kv < a.n_head_kv; ++kv) {
      for (int h = kv * group; h < (kv + 1) * group; h += heads) {
        blocks.push_back({t0, n_tok, h, std::min(heads, (kv + 1) * group - h)});
      }
    }
    t0 += n_tok;
  }
  return blocks;
}

// On AVX-512: one task per query block (attention_f16_block.h), each K and V row converted
// once per block; bit-identical to the one-head kernel.
class BlockAttentionStep : public JitAttentionStep {
 public:
  explicit BlockAttentionStep(const ir::Node& node)
      : JitAttentionStep(node, "AttentionBlockF16Avx512") {}

 protected:
  void RunF16(StepContext& ctx, const AttentionIo& io) const override {
    const ir::Attrs& a = node_.attrs;
    KvCache& cache = ctx.cache;
    auto& scratch = *io.scratch;
    for (auto& s : scratch) {
      s.resize(kernels::AttentionBlockScratchFloats(a.head_dim, cache.n_ctx()));
    }
    const int group = a.n_head / a.n_head_kv;
    const std::vector<QueryBlock> blocks = BlocksOf(a, ctx);
    ctx.pool.ParallelFor(static_cast<int64_t>(blocks.size()), [&](int64_t i, int thread) {
      const QueryBlock& b = blocks[i];
      kernels::AttentionQuery queries[kernels::kAttentionBlockQueries];
      int n = 0;
      for (int64_t t = b.t0; t < b.t0 + b.n_tok; ++t) {
        for (int h = b.h0; h < b.h0 + b.n_heads; ++h) {
          const int64_t at = t * io.q_width + int64_t{h} * a.head_dim;
          queries[n++] = {io.q + at, io.out + at, io.pos[t] + 1};
        }
      }
      const ref::AttentionParams p = ParamsFor(a, ctx.layout, b.t0);
      const int64_t s = ctx.Seq(b.t0);
      kernels::AttentionBlockF16Avx512(queries, n, cache.k16(a.layer, 0, s),
                                       cache.v16(a.layer, 0, s), io.kv_width,
                                       int64_t{b.h0 / group} * a.head_dim, a.head_dim, p.round_q,
                                       p.round_p, scratch[thread].data());
    });
  }
};

}  // namespace

std::unique_ptr<OpStep> PrepareAttention(const ir::Node& node, const PrepareContext& ctx) {
  if (ctx.compiled && codegen::IsAvx512Isa(ctx.compiled->isa)) {
    return std::make_unique<BlockAttentionStep>(node);
  }
  if (ctx.compiled) return std::make_unique<HeadAttentionStep>(node);
  return std::make_unique<ReferenceAttentionStep>(node);
}

}  // namespace bitjit::ops
