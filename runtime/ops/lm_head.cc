// The lm_head: logits = x · table^T for each wanted row. Every implementation is here, chosen
// once per model when the step is prepared:
//   reference        the model's table (F16, Q8_0, Q6_K) with ref::LmHead*, row by row;
//   f16 tiles        the JIT F16 GEMV over the table repacked into its row tiles (the default);
//   quantized        --lm-head q8_0|q6_k (and a Q6_K token_embd): a quantized table + its GEMV;
//   q8_0 avx2        a Q8_0 table as the model has it (bitnet.cpp's vec_dot_q8_0 numerics);
//   portable         a Q8_0 table under --numerics f32, a Q6_K one dequantized under f32.
// bitnet.cpp rounds the input to F16 when its batch has one logits row (layout.single_row).
#include <algorithm>

#include "codegen/lmhead/f16_gemv.h"
#include "codegen/ref/ref_kernels.h"
#include "codegen/simd/lm_head_avx2.h"
#include "ir/base/half.h"
#include "runtime/compiled_model.h"
#include "runtime/ops/lm_head_table.h"
#include "runtime/ops/op_step.h"
#include "runtime/ops/step_context.h"

namespace bitjit::ops {
namespace {

bool Bitnet(const ir::Node& node) {
  return node.attrs.numerics == ir::Numerics::kBitnet;
}

struct Operands {
  const float* x;
  float* out;
  const uint8_t* table;
  int64_t e, vocab;
};

Operands OperandsOf(const ir::Node& node, StepContext& ctx) {
  const ir::Value* table = node.operands[1];
  return {ctx.Data(node.operands[0]), ctx.Data(node.result()), ctx.Data<uint8_t>(table),
          table->shape[1], table->shape[0]};
}

class ReferenceLmHeadStep : public OpStep {
 public:
  explicit ReferenceLmHeadStep(const ir::Node& node) : OpStep(node, "ref") {}
  void Run(StepContext& ctx) const override {
    const Operands o = OperandsOf(node_, ctx);
    const bool bitnet = Bitnet(node_);
    for (int64_t r = 0; r < ctx.n_rows; ++r) {
      const float* x = o.x + r * o.e;
      float* out = o.out + r * o.vocab;
      switch (node_.operands[1]->dtype) {
        case ir::DType::kF16:
          ref::LmHeadF16(x, 1, o.e, reinterpret_cast<const uint16_t*>(o.table), o.vocab,
                         bitnet && ctx.layout.single_row(r), out);
          break;
        case ir::DType::kQ6_K:
          ref::LmHeadQ6_K(x, 1, o.e, o.table, o.vocab, bitnet, out);
          break;
        default:
          ref::LmHeadQ8_0(x, 1, o.e, o.table, o.vocab, bitnet, out);
      }
    }
  }
};

// The F16 GEMV over the tiled table. One row: the vocabulary split on tile boundaries over the
// pool (no tile computed twice). Several (verified drafts, batched decode): each task runs
// every row over a range of tiles that stays in L2, so the table streams from memory once per
// step, not once per row; each logit is still the lone row's (same kernel, tile and input).
class F16TiledLmHeadStep : public OpStep {
 public:
  F16TiledLmHeadStep(const ir::Node& node, const CompiledModel& compiled)
      : OpStep(node, compiled.f16_lm_head->KernelName()),
        gemv_(*compiled.f16_lm_head),
        tiles_(*compiled.f16_lm_head_table) {}

  void Run(StepContext& ctx) const override {
    const Operands o = OperandsOf(node_, ctx);
    const int64_t R = ctx.n_rows, e = o.e, vocab = o.vocab;
    float* xs = ctx.scratch.x_row.Get<float>(R * e);
    for (int64_t r = 0; r < R; ++r) {
      const bool round = Bitnet(node_) && ctx.layout.single_row(r);
      for (int64_t i = 0; i < e; ++i)
        xs[r * e + i] = round ? RoundToHalf(o.x[r * e + i]) : o.x[r * e + i];
    }
    if (R == 1) {
      lm_head::RunF16LogitsRow(gemv_, tiles_, xs, o.out, ctx.pool);
      return;
    }
    const int64_t span =
        std::max<int64_t>(1, (512 << 10) / tiles_.tile_bytes()) * gemv_.tile_rows();
    ctx.pool.ParallelFor((vocab + span - 1) / span, [&](int64_t c, int) {
      for (int64_t r = 0; r < R; ++r)
        gemv_.Run(tiles_, xs + r * e, false, c * span, std::min(vocab, (c + 1) * span),
                  o.out + r * vocab);
    });
  }

 private:
  const codegen::F16Gemv& gemv_;
  const codegen::F16TiledTable& tiles_;
};

// --lm-head q8_0|q6_k: per row the input is quantized (Q8_0 / Q8_K) once, then the vocabulary
// is split over the pool.
class QuantizedLmHeadStep : public OpStep {
 public:
  QuantizedLmHeadStep(const ir::Node& node, const lm_head::QuantizedLmHead& head)
      : OpStep(node, head.gemv().KernelName()), head_(head) {}

  void Run(StepContext& ctx) const override {
    const Operands o = OperandsOf(node_, ctx);
    const codegen::QuantizedGemv& gemv = head_.gemv();
    const lm_head::QuantizedTable& table = head_.table();
    uint8_t* input = ctx.scratch.q8.Get(gemv.InputBytes());
    const int64_t chunks = lm_head::VocabChunks(table.vocab, ctx.pool);
    for (int64_t r = 0; r < ctx.n_rows; ++r) {
      float* out = o.out + r * table.vocab;
      gemv.PrepareInput(o.x + r * table.n, input);
      ctx.pool.ParallelFor(chunks, [&](int64_t c, int) {
        const int64_t v0 = table.vocab * c / chunks, v1 = table.vocab * (c + 1) / chunks;
        gemv.Run(table.data.get(), input, v0, v1, out);
      });
    }
  }

 private:
  const lm_head::QuantizedLmHead& head_;
};

// The model's Q8_0 table with bitnet.cpp's numerics: the input row quantized to Q8_0 as
// ggml's vec_dot_q8_0_q8_0 takes it, then AVX2 dot products over vocabulary chunks.
class Q8_0Avx2LmHeadStep : public OpStep {
 public:
  explicit Q8_0Avx2LmHeadStep(const ir::Node& node) : OpStep(node, "LmHeadQ8_0RowsAvx2") {}
  void Run(StepContext& ctx) const override {
    const Operands o = OperandsOf(node_, ctx);
    uint8_t* xq = ctx.scratch.q8.Get(o.e / 32 * 34 + 64);
    const int64_t chunks = lm_head::VocabChunks(o.vocab, ctx.pool);
    for (int64_t r = 0; r < ctx.n_rows; ++r) {
      ref::QuantizeRowQ8_0(o.x + r * o.e, o.e, xq);
      float* out = o.out + r * o.vocab;
      ctx.pool.ParallelFor(chunks, [&](int64_t c, int) {
        kernels::LmHeadQ8_0RowsAvx2(xq, o.e, o.table, o.vocab * c / chunks,
                                    o.vocab * (c + 1) / chunks, out);
      });
    }
  }
};

// --numerics f32 on a Q8_0 or Q6_K table (and a Q8_0 one on the portable ISA): the reference
// row kernel over vocabulary chunks of the model's table.
class PortableLmHeadStep : public OpStep {
 public:
  explicit PortableLmHeadStep(const ir::Node& node) : OpStep(node, "ref (parallel)") {}
  void Run(StepContext& ctx) const override {
    const Operands o = OperandsOf(node_, ctx);
    const bool q6_k = node_.operands[1]->dtype == ir::DType::kQ6_K, bitnet = Bitnet(node_);
    const auto row_bytes = static_cast<int64_t>(
        q6_k ? lm_head::RowBytes(lm_head::LmHeadType::kQ6_K, o.e) : o.e / 32 * 34);
    const int64_t chunks = lm_head::VocabChunks(o.vocab, ctx.pool);
    for (int64_t r = 0; r < ctx.n_rows; ++r) {
      ctx.pool.ParallelFor(chunks, [&](int64_t c, int) {
        const int64_t v0 = o.vocab * c / chunks, v1 = o.vocab * (c + 1) / chunks;
        (q6_k ? ref::LmHeadQ6_K : ref::LmHeadQ8_0)(o.x + r * o.e, 1, o.e, o.table + v0 * row_bytes,
                                                   v1 - v0, q6_k ? false : bitnet,
                                                   o.out + r * o.vocab + v0);
      });
    }
  }
};

}  // namespace

std::unique_ptr<OpStep> PrepareLmHead(const ir::Node& node, const PrepareContext& ctx) {
  if (!ctx.compiled) return std::make_unique<ReferenceLmHeadStep>(node);
  const CompiledModel& compiled = *ctx.compiled;
  const ir::DType table = node.operands[1]->dtype;
  if (table == ir::DType::kQ6_K && !Bitnet(node)) return std::make_unique<PortableLmHeadStep>(node);
  if (compiled.quantized_lm_head)
    return std::make_unique<QuantizedLmHeadStep>(node, *compiled.quantized_lm_head);
  if (table == ir::DType::kF16) {
    if (!compiled.f16_lm_head || !compiled.f16_lm_head_table)
      Fail("lm_head ", node.name, ": the f16 table was not compiled");
    return std::make_unique<F16TiledLmHeadStep>(node, compiled);
  }
  if (table == ir::DType::kQ8_0 && Bitnet(node) && compiled.isa != codegen::Isa::kRef)
    return std::make_unique<Q8_0Avx2LmHeadStep>(node);
  if (table == ir::DType::kQ8_0) return std::make_unique<PortableLmHeadStep>(node);
  Fail("lm_head ", node.name, ": a ", ir::DTypeName(table), " table");
}

}  // namespace bitjit::ops
