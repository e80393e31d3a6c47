// The fused BitLinear: [rmsnorm(x)·w +] int8 absmax quantization, one or more ternary matmuls
// over the same codes (Q, K and V merged), [an epilogue: relu²(gate)·up, silu(gate)·up, or a
// residual add]. The reference runs the unfused ops' arithmetic in the same order; the JIT
// path runs the prologue once per token, then the matmuls split by rows over the pool, each
// task finishing its rows' epilogue while they are in cache.
#include <glog/logging.h>

#include <array>
#include <vector>

#include "codegen/ref/ref_kernels.h"
#include "codegen/ref/ternary_ref.h"
#include "codegen/simd/elementwise_avx2.h"
#include "codegen/simd/rms_norm_avx2.h"
#include "runtime/compiled_model.h"
#include "runtime/ops/op_step.h"
#include "runtime/ops/step_context.h"

namespace bitjit::ops {
namespace {

class ReferenceBitLinearStep : public OpStep {
 public:
  explicit ReferenceBitLinearStep(const ir::Node& node) : OpStep(node, "ref") {}

  void Run(StepContext& ctx) const override {
    const ir::Node& n = node_;
    const ir::Value* xv = n.bl_input();
    const int64_t rows = ctx.Dim(xv->shape[0]), k = xv->shape[1];
    std::vector<float> in(ctx.Data(xv), ctx.Data(xv) + rows * k);
    if (const ir::Value* w = n.bl_norm()) {
      std::vector<float> normed(in.size());
      ref::RmsNorm(in.data(), rows, k, n.attrs.eps, normed.data());
      const float* wv = ctx.Data(w);
      for (size_t i = 0; i < normed.size(); ++i) in[i] = normed[i] * wv[i % k];
    }
    std::vector<int8_t> codes(in.size());
    std::vector<float> scales(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) scales[r] = ref::QuantizeRow(&in[r * k], k, &codes[r * k]);
    std::vector<std::vector<float>> outs(n.attrs.n_weights);
    for (int i = 0; i < n.attrs.n_weights; ++i) {
      const ir::Value* w = n.bl_weight(i);
      const int64_t nout = w->shape[0];
      std::vector<int32_t> dot(static_cast<size_t>(rows * nout));
      ref::TernaryMatmulI32(ctx.Data<uint8_t>(w), nout, k, codes.data(), rows, dot.data());
      outs[i].resize(dot.size());
      ref::TernaryEpilogue(dot.data(), scales.data(), w->producer->constant.scale, rows, nout,
                           outs[i].data());
    }
    if (n.attrs.epilogue == ir::Epilogue::kNone) {
      for (int i = 0; i < n.attrs.n_weights; ++i)
        std::copy(outs[i].begin(), outs[i].end(), ctx.Data(n.result(i)));
      return;
    }
    float* out = ctx.Data(n.result());
    const size_t count = outs[0].size();
    switch (n.attrs.epilogue) {
      case ir::Epilogue::kReluSqrMul:
        for (size_t i = 0; i < count; ++i) {
          const float g = outs[0][i] > 0.0f ? outs[0][i] : 0.0f;
          out[i] = (g * g) * outs[1][i];
        }
        break;
      case ir::Epilogue::kSiluMul:
        for (size_t i = 0; i < count; ++i) out[i] = ref::Silu(outs[0][i]) * outs[1][i];
        break;
      case ir::Epilogue::kResidualAdd: {
        const float* res = ctx.Data(n.bl_residual());
        for (size_t i = 0; i < count; ++i) out[i] = res[i] + outs[0][i];
        break;
      }
      case ir::Epilogue::kNone:
        break;
    }
  }
};

// The quantizer, then each weight's matmul kernels; merged weights that share their kernels
// (Q, K and V of one shape) are written once with a count: "QuantizeAbsmaxI8_..., 2 x Gemv..".
std::string JitKernelNames(const CompiledLinear& linear) {
  std::string names = linear.quantizer->KernelName();
  for (size_t i = 0; i < linear.matmuls.size();) {
    const std::string kernels = linear.matmuls[i]->F32KernelNames();
    size_t same = 1;
    while (i + same < linear.matmuls.size() &&
           linear.matmuls[i + same]->F32KernelNames() == kernels)
      ++same;
    names += ", " + (same > 1 ? std::to_string(same) + " x " : std::string()) + kernels;
    i += same;
  }
  return names;
}

class JitBitLinearStep : public OpStep {
 public:
  JitBitLinearStep(const ir::Node& node, const CompiledLinear& linear)
      : OpStep(node, JitKernelNames(linear)), linear_(linear) {}

  void Run(StepContext& ctx) const override {
    const int64_t T = ctx.n_tokens;
    const ir::Value* xv = node_.bl_input();
    const int64_t k = xv->shape[1];
    StepScratch& s = ctx.scratch;
    auto* q = s.q.Get<int8_t>(T * k);
    auto* q_scale = s.q_scale.Get<float>(T);
    auto* q_sum = s.q_sum.Get<int32_t>(T);
    auto* normed = s.normed.Get<float>(T * k);
    const float* x = ctx.Data(xv);
    const float* norm_w = node_.bl_norm() ? ctx.Data(node_.bl_norm()) : nullptr;
    // Tokens per task: the norm runs 4 or 8 rows' sums side by side (rms_norm_avx2.h); 8
    // once there are enough tokens to keep every thread busy with them.
    const int64_t rows_per_task = T >= 16 * ctx.pool.n_threads() ? 8 : 4;
    ctx.pool.ParallelFor((T + rows_per_task - 1) / rows_per_task, [&](int64_t task, int) {
      const int64_t t0 = task * rows_per_task, rows = std::min(rows_per_task, T - t0);
      const float* in = x + t0 * k;
      if (norm_w) {
        kernels::RmsNormRowsAvx2(in, rows, k, node_.attrs.eps, norm_w, normed + t0 * k);
        in = normed + t0 * k;
      }
      linear_.quantizer->Run(in, rows, q + t0 * k, q_scale + t0, q_sum + t0);
    });
    if (node_.attrs.epilogue == ir::Epilogue::kNone) {
      RunSeparate(ctx, q, q_scale, q_sum);
    } else {
      RunWithEpilogue(ctx, q, q_scale, q_sum);
    }
  }

 private:
  // Enough tasks to balance threads, each a whole number of tiles; per thread as compiled.
  int64_t RowTasks(size_t i, int n_threads, int64_t n_tokens) const {
    const codegen::TernaryMatmul& mm = *linear_.matmuls[i];
    const int64_t tiles = (mm.n() + mm.tile().rows - 1) / mm.tile().rows;
    const RowSplit& split = linear_.splits[i];
    const int64_t per_thread =
        n_tokens > 1 ? split.prefill_tasks_per_thread : split.decode_tasks_per_thread;
    return std::max<int64_t>(1, std::min<int64_t>(tiles, per_thread * n_threads));
  }

  // One result per weight: tasks over (weight, row chunk), so that Q, K and V stream in one
  // parallel region. No allocation: merged bitlinears hold a handful of weights.
  void RunSeparate(StepContext& ctx, const int8_t* q, const float* q_scale,
                   const int32_t* q_sum) const {
    const int64_t T = ctx.n_tokens;
    const size_t n_weights = linear_.matmuls.size();
    constexpr size_t kMaxWeights = 8;
    CHECK_LE(n_weights, kMaxWeights);
    std::array<int64_t, kMaxWeights + 1> first_task{};
    for (size_t i = 0; i < n_weights; ++i)
      first_task[i + 1] = first_task[i] + RowTasks(i, ctx.pool.n_threads(), T);
    ctx.pool.ParallelFor(first_task[n_weights], [&](int64_t task, int) {
      size_t i = 0;
      while (task >= first_task[i + 1]) ++i;
      const auto& mm = *linear_.matmuls[i];
      const int64_t chunks = first_task[i + 1] - first_task[i], c = task - first_task[i];
      const int64_t tile = mm.tile().rows, tiles = (mm.n() + tile - 1) / tile;
      const int64_t r0 = std::min(mm.n(), tiles * c / chunks * tile);
      const int64_t r1 = std::min(mm.n(), tiles * (c + 1) / chunks * tile);
      if (r0 < r1) {
        mm.RunF32(linear_.weights[i], q, q_scale, T, r0, r1, ctx.Data(node_.result(i)), 0, q_sum);
      }
    });
  }

  // One result: the first matmul's rows, then per task the residual add or the gate·up
  // epilogue over the second matmul's same rows.
  void RunWithEpilogue(StepContext& ctx, const int8_t* q, const float* q_scale,
                       const int32_t* q_sum) const {
    const int64_t T = ctx.n_tokens;
    const auto& mm = *linear_.matmuls[0];
    const int64_t rows = mm.n();
    float* out = ctx.Data(node_.result());
    float* up = ctx.scratch.tmp.Get<float>(T * rows);
    const float* res = node_.bl_residual() ? ctx.Data(node_.bl_residual()) : nullptr;
    const bool silu = node_.attrs.epilogue == ir::Epilogue::kSiluMul;
    const int64_t chunks = RowTasks(0, ctx.pool.n_threads(), T);
    const int64_t tile = mm.tile().rows, tiles = (rows + tile - 1) / tile;
    ctx.pool.ParallelFor(chunks, [&](int64_t c, int) {
      const int64_t r0 = std::min(rows, tiles * c / chunks * tile);
      const int64_t r1 = std::min(rows, tiles * (c + 1) / chunks * tile);
      if (r0 >= r1) return;
      mm.RunF32(linear_.weights[0], q, q_scale, T, r0, r1, out, 0, q_sum);
      if (res) {
        for (int64_t t = 0; t < T; ++t)
          for (int64_t r = r0; r < r1; ++r)
            out[t * rows + r] = res[t * rows + r] + out[t * rows + r];
        return;
      }
      linear_.matmuls[1]->RunF32(linear_.weights[1], q, q_scale, T, r0, r1, up, 0, q_sum);
      for (int64_t t = 0; t < T; ++t) {
        float* g = out + t * rows + r0;
        if (silu) {
          kernels::SiluMulAvx2(g, up + t * rows + r0, r1 - r0, g);
        } else {
          kernels::ReluSqrMulAvx2(g, up + t * rows + r0, r1 - r0);
        }
      }
    });
  }

  const CompiledLinear& linear_;
};

}  // namespace

std::unique_ptr<OpStep> PrepareBitLinear(const ir::Node& node, const PrepareContext& ctx) {
  if (!ctx.compiled) return std::make_unique<ReferenceBitLinearStep>(node);
  const auto it = ctx.compiled->linears.find(&node);
  if (it == ctx.compiled->linears.end()) Fail("bitlinear ", node.name, " was not compiled");
  return std::make_unique<JitBitLinearStep>(node, it->second);
}

}  // namespace bitjit::ops
