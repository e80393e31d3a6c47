#include "runtime/jit_executor.h"

#include <glog/logging.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "codegen/memory/weight_memory.h"
#include "codegen/ref/ref_kernels.h"
#include "codegen/ref/ternary_ref.h"
#include "ir/base/error.h"
#include "ir/base/half.h"
#include "runtime/batch_layout.h"
#include "runtime/kernels/attention_f16.h"
#include "runtime/kernels/elementwise_avx2.h"
#include "runtime/kernels/lm_head_avx2.h"
#include "runtime/kernels/rms_norm_avx2.h"
#include "runtime/tuning/tile_choice.h"

namespace bitjit {
namespace {

using ir::DType;
using ir::Node;
using ir::OpKind;
using ir::Value;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// A 64-byte aligned growable byte buffer (grows only; no allocation once warm).
class AlignedBuffer {
 public:
  uint8_t* Get(size_t bytes) {
    if (bytes > size_) {
      size_ = std::max(bytes, size_ * 2);
      data_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, (size_ + 63) / 64 * 64)));
      if (!data_) Fail("out of memory allocating ", size_, " bytes of activations");
    }
    return data_.get();
  }

 private:
  std::unique_ptr<uint8_t, FreeDeleter> data_;
  size_t size_ = 0;
};

int64_t RowTasks(const codegen::TernaryMatmul& mm, const JitExecutor::RowSplit& split,
                 int n_threads, int64_t n_tokens) {
  // Enough tasks to balance threads, each a whole number of tiles; per thread as compiled.
  const int64_t tiles = (mm.n() + mm.tile().rows - 1) / mm.tile().rows;
  const int64_t per_thread =
      n_tokens > 1 ? split.prefill_tasks_per_thread : split.decode_tasks_per_thread;
  return std::max<int64_t>(1, std::min<int64_t>(tiles, per_thread * n_threads));
}

}  // namespace

struct JitExecutor::Impl {
  std::vector<void*> ptr;  // per value id: where its data is this step
  AlignedBuffer arena, q, q_scale, q_sum, normed, tmp, x_row, q8;
  std::vector<std::vector<float>> scores;  // per thread attention scratch
};

void JitExecutor::CompiledWeights::AddActivationKernels(const ir::Graph& graph) {
  for (const auto& n : graph.nodes()) {
    if (n->kind == OpKind::kBitLinear) {
      linears[n.get()].quantizer =
          std::make_unique<codegen::ActivationQuantizer>(n->bl_input()->shape[1], isa);
    } else if (n->kind == OpKind::kLmHead && n->operands[1]->dtype == DType::kF16) {
      if (f16_lm_head) Fail("the JIT path runs one lm_head per graph");
      f16_lm_head = std::make_unique<codegen::F16Gemv>(n->operands[1]->shape[1], isa);
    }
  }
}

std::shared_ptr<const JitExecutor::CompiledWeights> JitExecutor::Compile(
    const ir::Graph& graph, codegen::Isa isa, int n_threads, lm_head::LmHeadType lm_head,
    const SourceDone& done) {
  const auto start = std::chrono::steady_clock::now();
  auto compiled = std::make_shared<CompiledWeights>();
  compiled->isa = codegen::ResolveIsa(isa);
  struct Job {
    const uint8_t* i2s;
    codegen::TernaryPackedWeights* out;
    int64_t row_begin, row_end;
  };
  // First the kernels (JIT code generation, cached by shape/ISA/tile)...
  for (const auto& n : graph.nodes()) {
    if (n->kind != OpKind::kBitLinear) continue;
    PackedLinear& pl = compiled->linears[n.get()];
    for (int i = 0; i < n->attrs.n_weights; ++i) {
      const Value* w = n->bl_weight(i);
      const int64_t k = w->shape[1], rows = w->shape[0];
      // The weight-layout pass's choice; graphs that skipped it get the tuning cache's.
      const codegen::TernaryTile tile = n->attrs.weight_tiles.empty()
                                            ? ChooseTernaryTile(k, rows, compiled->isa)
                                            : ToTernaryTile(n->attrs.weight_tiles[i]);
      pl.matmuls.push_back(std::make_unique<codegen::TernaryMatmul>(k, rows, compiled->isa, tile));
      pl.splits.push_back({ChooseTasksPerThread(k, rows, compiled->isa, 1),
                           ChooseTasksPerThread(k, rows, compiled->isa, 2)});
    }
  }
  compiled->AddActivationKernels(graph);
  const auto jit_done = std::chrono::steady_clock::now();
  // ...then the weights, repacked into each kernel's layout by row ranges in parallel.
  // All of them in one arena of huge pages (codegen/memory/weight_memory.h).
  codegen::WeightArena arena(compiled->PackedFootprint());
  std::vector<Job> jobs;
  for (const auto& n : graph.nodes()) {
    if (n->kind != OpKind::kBitLinear) continue;
    PackedLinear& pl = compiled->linears[n.get()];
    pl.weights.reserve(n->attrs.n_weights);  // jobs point into it
    for (int i = 0; i < n->attrs.n_weights; ++i) {
      const Value* w = n->bl_weight(i);
      const int64_t rows = w->shape[0];
      pl.weights.push_back(pl.matmuls[i]->Allocate(w->producer->constant.scale, &arena));
      constexpr int64_t kRowsPerJob = 256;
      for (int64_t r = 0; r < rows; r += kRowsPerJob) {
        jobs.push_back(
            {w->producer->constant.data, &pl.weights.back(), r, std::min(rows, r + kRowsPerJob)});
      }
    }
  }
  compiled->release_source = done;
  ThreadPool pool(n_threads);
  pool.ParallelFor(static_cast<int64_t>(jobs.size()), [&](int64_t j, int) {
    const Job& job = jobs[j];
    codegen::PackTernaryRows(job.i2s, job.row_begin, job.row_end, job.out);
    if (done) {  // the I2_S blocks only these rows use (blocks of 128 codes in 32 bytes)
      const int64_t k = job.out->k;
      const int64_t first = (job.row_begin * k + 127) / 128, last = job.row_end * k / 128;
      if (last > first) done(job.i2s + first * 32, static_cast<size_t>(last - first) * 32);
    }
  });
  LOG(INFO) << "compiled " << compiled->linears.size() << " bitlinears for "
            << codegen::IsaName(compiled->isa) << ": kernels "
            << std::chrono::duration<double, std::milli>(jit_done - start).count()
            << " ms, weight repacking "
            << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                         jit_done)
                   .count()
            << " ms (" << pool.n_threads() << " threads)";
  // --lm-head q8_0|q6_k: quantize the lm_head table once, here (runtime/lm_head); else stream
  // the model's own table from huge pages.
  // A Q6_K table (bitnet.cpp's --quant-embd) is its own q6_k lm_head: copied, not requantized.
  if (lm_head == lm_head::LmHeadType::kF16 && lm_head::LmHeadTable(graph).dtype == DType::kQ6_K)
    lm_head = lm_head::LmHeadType::kQ6_K;
  if (lm_head != lm_head::LmHeadType::kF16) {
    compiled->quantized_lm_head = lm_head::CompileLmHead(graph, lm_head, compiled->isa, pool);
  } else {
    compiled->PackF16LmHead(graph, pool);
  }
  return compiled;
}

size_t JitExecutor::CompiledWeights::PackedFootprint() const {
  size_t bytes = 0;
  for (const auto& [node, pl] : linears) {
    for (const auto& mm : pl.matmuls) bytes += codegen::WeightArena::Footprint(mm->PackedBytes());
  }
  return bytes;
}

void JitExecutor::CompiledWeights::PackF16LmHead(const ir::Graph& graph, ThreadPool& pool) {
  if (!f16_lm_head) return;
  const ir::Value& source = lm_head::LmHeadTable(graph);
  const auto* rows = reinterpret_cast<const uint16_t*>(source.producer->constant.data);
  auto table = std::make_shared<codegen::F16TiledTable>(f16_lm_head->Allocate(source.shape[0]));
  const int64_t parts = std::min<int64_t>(table->n_tiles, 8 * pool.n_threads());
  pool.ParallelFor(parts, [&](int64_t part, int) {
    const int64_t t0 = table->n_tiles * part / parts, t1 = table->n_tiles * (part + 1) / parts;
    f16_lm_head->PackTiles(rows, t0, t1, table.get());
    if (release_source) {
      const int64_t R = table->tile_rows, v1 = std::min(t1 * R, table->vocab);
      release_source(reinterpret_cast<const uint8_t*>(rows + t0 * R * table->n),
                     static_cast<size_t>(v1 - t0 * R) * table->n * 2);
    }
  });
  f16_lm_head_table = std::move(table);
  f16_lm_head_source = &source;
}

JitExecutor::JitExecutor(const ir::Graph& graph, std::shared_ptr<const CompiledWeights> weights,
                         int n_threads)
    : graph_(graph),
      weights_(std::move(weights)),
      isa_(weights_->isa),
      pool_(n_threads),
      impl_(new Impl) {
  if (graph.arena_bytes_per_token() <= 0) Fail("the JIT executor needs a memory-planned graph");
  size_t n_values = 0;
  for (const auto& n : graph.nodes())
    for (const Value* r : n->results) n_values = std::max(n_values, static_cast<size_t>(r->id) + 1);
  impl_->ptr.assign(n_values, nullptr);
  impl_->scores.resize(pool_.n_threads());
}

JitExecutor::~JitExecutor() = default;

void JitExecutor::Forward(const StepInputs& in, KvCache& cache, float* logits) {
  Impl& m = *impl_;
  const BatchLayout layout(in);
  const int64_t T = static_cast<int64_t>(in.tokens.size());
  const int64_t R = static_cast<int64_t>(in.output_rows.size());
  uint8_t* arena = m.arena.Get(graph_.arena_bytes_per_token() * T);
  auto F = [&](const Value* v) { return static_cast<float*>(m.ptr[v->id]); };
  auto Dim = [&](int64_t d) { return d == ir::kTokens ? T : d == ir::kRows ? R : d; };

  for (const auto& node : graph_.nodes()) {
    const Node& n = *node;
    for (const Value* r : n.results)
      if (r->arena_offset_per_token >= 0) m.ptr[r->id] = arena + r->arena_offset_per_token * T;
    const auto& ops = n.operands;
    switch (n.kind) {
      case OpKind::kInput:
        m.ptr[n.result()->id] =
            const_cast<int32_t*>(n.name == "tokens"      ? in.tokens.data()
                                 : n.name == "positions" ? in.positions.data()
                                                         : in.output_rows.data());
        break;
      case OpKind::kConstant:
        m.ptr[n.result()->id] = const_cast<uint8_t*>(n.constant.data);
        break;
      case OpKind::kEmbedding: {
        const Value* table = ops[0];
        const int64_t e = table->shape[1], vocab = table->shape[0];
        const auto* ids = static_cast<const int32_t*>(m.ptr[ops[1]->id]);
        float* out = F(n.result());
        for (int64_t t = 0; t < T; ++t) {
          if (ids[t] < 0 || ids[t] >= vocab)
            Fail("token id ", ids[t], " is outside the vocabulary");
          if (table == weights_->f16_lm_head_source) {
            // Tied embeddings: from the tiled copy. Reading the file's rows would map their
            // page-cache folios (up to 2 MiB per row touched) back into the process.
            weights_->f16_lm_head_table->RowToFloat(ids[t], out + t * e);
          } else if (table->dtype == DType::kF16) {
            ref::EmbeddingRowF16(static_cast<const uint16_t*>(m.ptr[table->id]), e, ids[t],
                                 out + t * e);
          } else if (table->dtype == DType::kQ6_K) {
            ref::EmbeddingRowQ6_K(static_cast<const uint8_t*>(m.ptr[table->id]), e, ids[t],
                                  out + t * e);
          } else {
            ref::EmbeddingRowQ8_0(static_cast<const uint8_t*>(m.ptr[table->id]), e, ids[t],
                                  out + t * e);
          }
        }
        // --lm-head q8_0|q6_k: the model's table was dropped from memory at load and only
        // embedding rows are read from it; drop them again (with the folios the kernel mapped
        // around them) so that a long conversation does not bring the table back.
        if (weights_->quantized_lm_head && weights_->release_source &&
            table->producer->kind == OpKind::kConstant) {
          weights_->release_source(table->producer->constant.data,
                                   table->producer->constant.n_bytes);
        }
        break;
      }
      case OpKind::kRmsNorm:
        kernels::RmsNormRowsAvx2(F(ops[0]), Dim(ops[0]->shape[0]), ops[0]->shape[1], n.attrs.eps,
                                 nullptr, F(n.result()));
        break;
      case OpKind::kMul:
      case OpKind::kAdd:
      case OpKind::kReluSqr: {
        const int64_t count = n.result()->shape.NumElements(T, R);
        const float* x = F(ops[0]);
        float* out = F(n.result());
        if (n.kind == OpKind::kReluSqr) {
          for (int64_t i = 0; i < count; ++i) out[i] = x[i] > 0 ? x[i] * x[i] : 0.0f;
          break;
        }
        const float* y = F(ops[1]);
        const int64_t width = ops[1]->shape.rank() == 1 ? ops[1]->shape[0] : count;
        for (int64_t i = 0; i < count; ++i)
          out[i] = n.kind == OpKind::kMul ? x[i] * y[i % width] : x[i] + y[i % width];
        break;
      }
      case OpKind::kSilu:
        kernels::SiluMulAvx2(F(ops[0]), nullptr, n.result()->shape.NumElements(T, R),
                             F(n.result()));
        break;
      case OpKind::kBitLinear:
        RunBitLinear(n, T);
        break;
      case OpKind::kRope: {
        float* out = F(n.result());
        const int64_t width = n.result()->shape[1];
        std::memcpy(out, F(ops[0]), T * width * sizeof(float));
        const auto* pos = static_cast<const int32_t*>(m.ptr[ops[1]->id]);
        const bool bitnet = n.attrs.numerics == ir::Numerics::kBitnet;
        if (n.attrs.head_dim > 512) Fail("rope: head_dim ", n.attrs.head_dim, " (at most 512)");
        pool_.ParallelFor(T, [&](int64_t t, int) {
          float cos_t[256], sin_t[256];  // head_dim <= 512 (the attention kernel's bound)
          ref::RopeAngles(pos[t], n.attrs.head_dim, n.attrs.rope_base, bitnet, cos_t, sin_t);
          const bool norm = n.attrs.rope_type == ir::RopeType::kNorm;
          float* row = out + t * width;
          if (bitnet) {
            (norm ? kernels::RopeNormRotateAvx2 : kernels::RopeNeoxRotateAvx2)(
                row, n.attrs.n_head, n.attrs.head_dim, cos_t, sin_t);
          } else {
            (norm ? ref::RopeNormRotate : ref::RopeNeoxRotate)(
                row, n.attrs.n_head, n.attrs.head_dim, cos_t, sin_t, false);
          }
        });
        break;
      }
      case OpKind::kAttention:
        RunAttention(n, in, layout, cache, T);
        break;
      case OpKind::kGatherRows: {
        const int64_t width = ops[0]->shape[1];
        const auto* rows = static_cast<const int32_t*>(m.ptr[ops[1]->id]);
        for (int64_t r = 0; r < R; ++r) {
          CHECK(rows[r] >= 0 && rows[r] < T);
          std::memcpy(F(n.result()) + r * width, F(ops[0]) + rows[r] * width,
                      width * sizeof(float));
        }
        break;
      }
      case OpKind::kLmHead:
        RunLmHead(n, layout, R);
        break;
      case OpKind::kOutput:
        std::memcpy(logits, F(ops[0]), ops[0]->shape.NumElements(T, R) * sizeof(float));
        break;
      case OpKind::kQuantizeAct:
      case OpKind::kTernaryMatmul:
        Fail("the JIT executor runs fused graphs: run the form-bitlinear pass first");
    }
  }
}

}  // namespace bitjit

namespace bitjit {

// Prologue (rmsnorm·w, int8 quantization, per-token sums) once per token, then the JIT
// matmuls split by rows over the pool, each task finishing its rows' epilogue while they are
// in cache.
void JitExecutor::RunBitLinear(const Node& n, int64_t T) {
  Impl& m = *impl_;
  const PackedLinear& pl = weights_->linears.at(&n);
  const Value* xv = n.bl_input();
  const int64_t k = xv->shape[1];
  const float* x = static_cast<const float*>(m.ptr[xv->id]);
  auto* q = reinterpret_cast<int8_t*>(m.q.Get(T * k));
  auto* q_scale = reinterpret_cast<float*>(m.q_scale.Get(T * sizeof(float)));
  auto* q_sum = reinterpret_cast<int32_t*>(m.q_sum.Get(T * sizeof(int32_t)));
  auto* normed = reinterpret_cast<float*>(m.normed.Get(T * k * sizeof(float)));
  const float* norm_w = n.bl_norm() ? static_cast<const float*>(m.ptr[n.bl_norm()->id]) : nullptr;
  // Four tokens per task: the norm runs their sums side by side (rms_norm_avx2.h).
  constexpr int64_t kRowsPerTask = 4;
  pool_.ParallelFor((T + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task, int) {
    const int64_t t0 = task * kRowsPerTask, rows = std::min(kRowsPerTask, T - t0);
    const float* in = x + t0 * k;
    if (norm_w) {
      kernels::RmsNormRowsAvx2(in, rows, k, n.attrs.eps, norm_w, normed + t0 * k);
      in = normed + t0 * k;
    }
    pl.quantizer->Run(in, rows, q + t0 * k, q_scale + t0, q_sum + t0);
  });

  const int threads = pool_.n_threads();
  switch (n.attrs.epilogue) {
    case ir::Epilogue::kNone: {
      // Tasks over (weight, row chunk): Q, K and V stream in one parallel region.
      // No allocation on the hot path: merged bitlinears hold a handful of weights.
      constexpr size_t kMaxWeights = 8;
      CHECK_LE(pl.matmuls.size(), kMaxWeights);
      std::array<int64_t, kMaxWeights + 1> first_task{};
      for (size_t i = 0; i < pl.matmuls.size(); ++i) {
        first_task[i + 1] = first_task[i] + RowTasks(*pl.matmuls[i], pl.splits[i], threads, T);
      }
      pool_.ParallelFor(first_task[pl.matmuls.size()], [&](int64_t task, int) {
        size_t i = 0;
        while (task >= first_task[i + 1]) ++i;
        const auto& mm = *pl.matmuls[i];
        const int64_t chunks = first_task[i + 1] - first_task[i], c = task - first_task[i];
        const int64_t tile = mm.tile().rows, tiles = (mm.n() + tile - 1) / tile;
        const int64_t r0 = std::min(mm.n(), tiles * c / chunks * tile);
        const int64_t r1 = std::min(mm.n(), tiles * (c + 1) / chunks * tile);
        if (r0 < r1) {
          mm.RunF32(pl.weights[i], q, q_scale, T, r0, r1,
                    static_cast<float*>(m.ptr[n.result(i)->id]), 0, q_sum);
        }
      });
      break;
    }
    case ir::Epilogue::kReluSqrMul:
    case ir::Epilogue::kSiluMul:
    case ir::Epilogue::kResidualAdd: {
      const auto& mm = *pl.matmuls[0];
      const int64_t rows = mm.n();
      float* out = static_cast<float*>(m.ptr[n.result()->id]);
      float* up = reinterpret_cast<float*>(m.tmp.Get(T * rows * sizeof(float)));
      const float* res =
          n.bl_residual() ? static_cast<const float*>(m.ptr[n.bl_residual()->id]) : nullptr;
      const int64_t chunks = RowTasks(mm, pl.splits[0], threads, T);
      const int64_t tile = mm.tile().rows, tiles = (rows + tile - 1) / tile;
      pool_.ParallelFor(chunks, [&](int64_t c, int) {
        const int64_t r0 = std::min(rows, tiles * c / chunks * tile);
        const int64_t r1 = std::min(rows, tiles * (c + 1) / chunks * tile);
        if (r0 >= r1) return;
        mm.RunF32(pl.weights[0], q, q_scale, T, r0, r1, out, 0, q_sum);
        if (res) {
          for (int64_t t = 0; t < T; ++t)
            for (int64_t r = r0; r < r1; ++r)
              out[t * rows + r] = res[t * rows + r] + out[t * rows + r];
        } else {
          pl.matmuls[1]->RunF32(pl.weights[1], q, q_scale, T, r0, r1, up, 0, q_sum);
          for (int64_t t = 0; t < T; ++t) {
            float* g = out + t * rows + r0;
            if (n.attrs.epilogue == ir::Epilogue::kSiluMul) {
              kernels::SiluMulAvx2(g, up + t * rows + r0, r1 - r0, g);
            } else {
              kernels::ReluSqrMulAvx2(g, up + t * rows + r0, r1 - r0);
            }
          }
        }
      });
      break;
    }
  }
}

void JitExecutor::RunAttention(const Node& n, const StepInputs& in, const BatchLayout& layout,
                               KvCache& cache, int64_t T) {
  Impl& m = *impl_;
  const ir::Attrs& a = n.attrs;
  const int64_t kv_width = int64_t{a.n_head_kv} * a.head_dim,
                q_width = int64_t{a.n_head} * a.head_dim;
  const float* q = static_cast<const float*>(m.ptr[n.operands[0]->id]);
  const float* k = static_cast<const float*>(m.ptr[n.operands[1]->id]);
  const float* v = static_cast<const float*>(m.ptr[n.operands[2]->id]);
  const auto* pos = static_cast<const int32_t*>(m.ptr[n.operands[3]->id]);
  float* out = static_cast<float*>(m.ptr[n.result()->id]);
  auto seq = [&](int64_t t) -> int64_t { return in.seq_ids.empty() ? 0 : in.seq_ids[t]; };
  for (int64_t t = 0; t < T; ++t) {
    CHECK(pos[t] >= 0 && pos[t] < cache.n_ctx() && seq(t) < cache.n_seq());
    if (cache.f16()) {
      uint16_t* kc = cache.k16(a.layer, pos[t], seq(t));
      uint16_t* vc = cache.v16(a.layer, pos[t], seq(t));
      kernels::FloatsToHalvesF16c(k + t * kv_width, kv_width, kc);
      kernels::FloatsToHalvesF16c(v + t * kv_width, kv_width, vc);
    } else {
      std::memcpy(cache.k32(a.layer, pos[t], seq(t)), k + t * kv_width, kv_width * sizeof(float));
      std::memcpy(cache.v32(a.layer, pos[t], seq(t)), v + t * kv_width, kv_width * sizeof(float));
    }
  }
  const bool bitnet = a.numerics == ir::Numerics::kBitnet;
  if (!cache.f16()) {
    // Plain float32 numerics: the reference row kernel, one task per token.
    const ref::AttentionParams p{a.n_head, a.n_head_kv, a.head_dim, false, false};
    for (auto& s : m.scores) s.resize(cache.n_ctx());
    pool_.ParallelFor(T, [&](int64_t t, int thread) {
      ref::AttentionRowF32Cache(q + t * q_width, cache.k32(a.layer, 0, seq(t)),
                                cache.v32(a.layer, 0, seq(t)), pos[t] + 1, p,
                                m.scores[thread].data(), out + t * q_width);
    });
    return;
  }
  // The f16 cache: one task per (token, head), in bitnet.cpp's roundings and order of
  // additions (kernels/attention_f16.h; bit-identical to the reference row kernel).
  const int group = a.n_head / a.n_head_kv;
  for (auto& s : m.scores) s.resize(kernels::AttentionScratchFloats(a.head_dim, cache.n_ctx()));
  pool_.ParallelFor(T * a.n_head, [&](int64_t task, int thread) {
    const int64_t t = task / a.n_head;
    const int h = static_cast<int>(task % a.n_head);
    const ref::AttentionParams p =
        bitnet ? ref::BitnetAttentionParams(a.n_head, a.n_head_kv, a.head_dim, layout.decode(t))
               : ref::AttentionParams{a.n_head, a.n_head_kv, a.head_dim, false, false};
    kernels::AttentionHeadF16Avx2(q + t * q_width + int64_t{h} * a.head_dim,
                                  cache.k16(a.layer, 0, seq(t)), cache.v16(a.layer, 0, seq(t)),
                                  kv_width, int64_t{h / group} * a.head_dim, pos[t] + 1, a.head_dim,
                                  p.round_q, p.round_p, m.scores[thread].data(),
                                  out + t * q_width + int64_t{h} * a.head_dim);
  });
}

void JitExecutor::RunLmHead(const Node& n, const BatchLayout& layout, int64_t R) {
  Impl& m = *impl_;
  const Value* table = n.operands[1];
  const int64_t e = table->shape[1], vocab = table->shape[0];
  const bool bitnet = n.attrs.numerics == ir::Numerics::kBitnet;
  const float* x = static_cast<const float*>(m.ptr[n.operands[0]->id]);
  float* out = static_cast<float*>(m.ptr[n.result()->id]);
  const auto* data = static_cast<const uint8_t*>(m.ptr[table->id]);
  const int64_t chunks = std::min<int64_t>(vocab, 16 * pool_.n_threads());
  if (table->dtype == DType::kQ6_K && !bitnet) {
    // --numerics f32 on a Q6_K table: the dequantized table times the f32 input.
    const auto row_bytes = static_cast<int64_t>(lm_head::RowBytes(lm_head::LmHeadType::kQ6_K, e));
    for (int64_t r = 0; r < R; ++r) {
      pool_.ParallelFor(chunks, [&](int64_t c, int) {
        const int64_t v0 = vocab * c / chunks, v1 = vocab * (c + 1) / chunks;
        ref::LmHeadQ6_K(x + r * e, 1, e, data + v0 * row_bytes, v1 - v0, false,
                        out + r * vocab + v0);
      });
    }
    return;
  }
  // --lm-head q8_0|q6_k (and a Q6_K table): the quantized table and its kernel (runtime/lm_head).
  if (const auto& head = weights_->quantized_lm_head) {
    head->Run(x, R, out, m.q8.Get(head->ScratchBytes()), pool_);
    return;
  }
  if (table->dtype == DType::kF16 && R > 1) {
    // Several rows (verified drafts, batched decode): each task runs every row over a range of
    // tiles that stays in L2, so the table streams from memory once per step, not once per row.
    // Each logit is the lone row's: the same kernel, tile and input.
    auto* xs = reinterpret_cast<float*>(m.x_row.Get(R * e * sizeof(float)));
    for (int64_t r = 0; r < R; ++r) {
      const bool round = bitnet && layout.single_row(r);
      for (int64_t i = 0; i < e; ++i)
        xs[r * e + i] = round ? RoundToHalf(x[r * e + i]) : x[r * e + i];
    }
    const codegen::F16Gemv& gemv = *weights_->f16_lm_head;
    const codegen::F16TiledTable& tiles = *weights_->f16_lm_head_table;
    const int64_t span = std::max<int64_t>(1, (512 << 10) / tiles.tile_bytes()) * gemv.tile_rows();
    pool_.ParallelFor((vocab + span - 1) / span, [&](int64_t c, int) {
      for (int64_t r = 0; r < R; ++r)
        gemv.Run(tiles, xs + r * e, false, c * span, std::min(vocab, (c + 1) * span),
                 out + r * vocab);
    });
    return;
  }
  const bool simd = isa_ != codegen::Isa::kRef;
  auto* xr = reinterpret_cast<float*>(m.x_row.Get(e * sizeof(float)));
  auto* xq = m.q8.Get(e / 32 * 34 + 64);
  for (int64_t r = 0; r < R; ++r) {
    const float* row = x + r * e;
    float* lr = out + r * vocab;
    if (table->dtype == DType::kF16) {
      const bool round = bitnet && layout.single_row(r);
      for (int64_t i = 0; i < e; ++i) xr[i] = round ? RoundToHalf(row[i]) : row[i];
      // Split on tile boundaries: no tile is computed twice.
      const codegen::F16Gemv& gemv = *weights_->f16_lm_head;
      const codegen::F16TiledTable& tiles = *weights_->f16_lm_head_table;
      const int64_t R = gemv.tile_rows(), parts = std::min(chunks, tiles.n_tiles);
      pool_.ParallelFor(parts, [&](int64_t c, int) {
        const int64_t v0 = tiles.n_tiles * c / parts * R, v1 = tiles.n_tiles * (c + 1) / parts * R;
        gemv.Run(tiles, xr, /*round_input=*/false, v0, std::min(v1, vocab), lr);
      });
    } else if (bitnet && simd) {
      ref::QuantizeRowQ8_0(row, e, xq);
      pool_.ParallelFor(chunks, [&](int64_t c, int) {
        kernels::LmHeadQ8_0RowsAvx2(xq, e, data, vocab * c / chunks, vocab * (c + 1) / chunks, lr);
      });
    } else {
      const int64_t row_bytes = e / 32 * 34;
      pool_.ParallelFor(chunks, [&](int64_t c, int) {
        const int64_t v0 = vocab * c / chunks, v1 = vocab * (c + 1) / chunks;
        ref::LmHeadQ8_0(row, 1, e, data + v0 * row_bytes, v1 - v0, bitnet, lr + v0);
      });
    }
  }
}

}  // namespace bitjit
