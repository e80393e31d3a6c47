#include "runtime/compiled_model.h"

#include <glog/logging.h>

#include <algorithm>
#include <chrono>

#include "codegen/memory/weight_memory.h"
#include "ir/base/error.h"
#include "runtime/thread_pool.h"
#include "runtime/tuning/tile_choice.h"

namespace bitjit {

using ir::DType;
using ir::OpKind;
using ir::Value;

void CompiledModel::AddActivationKernels(const ir::Graph& graph) {
  for (const auto& n : graph.nodes()) {
    if (n->kind == OpKind::kBitLinear) {
      linears[n.get()].quantizer =
          std::make_unique<codegen::ActivationQuantizer>(n->bl_input()->shape[1], isa);
    } else if (n->kind == OpKind::kLmHead && n->operands[1]->dtype == DType::kF16) {
      if (f16_lm_head) Fail("the JIT path runs one lm_head per graph");
      const int64_t n_embd = n->operands[1]->shape[1], vocab = n->operands[1]->shape[0];
      f16_lm_head = std::make_unique<codegen::F16Gemv>(n_embd, isa,
                                                       ChooseF16LmHeadPrefetch(n_embd, vocab, isa));
    }
  }
}

std::shared_ptr<const CompiledModel> CompileModel(const ir::Graph& graph, codegen::Isa isa,
                                                  int n_threads, lm_head::LmHeadType lm_head,
                                                  const SourceDone& done) {
  const auto start = std::chrono::steady_clock::now();
  auto compiled = std::make_shared<CompiledModel>();
  compiled->isa = codegen::ResolveIsa(isa);
  struct Job {
    const uint8_t* i2s;
    codegen::TernaryPackedWeights* out;
    int64_t row_begin, row_end;
  };
  // First the kernels (JIT code generation, cached by shape/ISA/tile)...
  for (const auto& n : graph.nodes()) {
    if (n->kind != OpKind::kBitLinear) continue;
    CompiledLinear& pl = compiled->linears[n.get()];
    for (int i = 0; i < n->attrs.n_weights; ++i) {
      const Value* w = n->bl_weight(i);
      const int64_t k = w->shape[1], rows = w->shape[0];
      // The weight-layout pass's choice; graphs that skipped it get the tuning cache's.
      const codegen::TernaryTile tile = n->attrs.weight_tiles.empty()
                                            ? DecideTernaryTile(k, rows, compiled->isa)
                                            : ToTernaryTile(n->attrs.weight_tiles[i]);
      pl.matmuls.push_back(std::make_unique<codegen::TernaryMatmul>(
          k, rows, compiled->isa, tile, ChooseGemvPrefetch(k, rows, compiled->isa, tile)));
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
    CompiledLinear& pl = compiled->linears[n.get()];
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
  // --lm-head q8_0|q6_k: quantize the lm_head table once, here (ops/lm_head_table.h); else stream
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

size_t CompiledModel::PackedFootprint() const {
  size_t bytes = 0;
  for (const auto& [node, pl] : linears) {
    for (const auto& mm : pl.matmuls) bytes += codegen::WeightArena::Footprint(mm->PackedBytes());
  }
  return bytes;
}

void CompiledModel::PackF16LmHead(const ir::Graph& graph, ThreadPool& pool) {
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

}  // namespace bitjit
