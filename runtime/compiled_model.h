// What the JIT path compiles once per model and every executor of it shares read-only: each
// bitlinear's kernels and repacked weights, and the lm_head's table in the form its kernel
// reads. Built from a GGUF by CompileModel, or from a plan's sidecar (plan/plan_io.cc). The
// steps of a schedule (schedule.h) point into it.
#pragma once

#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/f16_gemv.h"
#include "codegen/lmhead/lm_head_type.h"
#include "codegen/quant/activation_quantizer.h"
#include "codegen/ternary/ternary_matmul.h"
#include "ir/graph.h"
#include "runtime/ops/lm_head_table.h"

namespace bitjit {

class ThreadPool;

// How many row tasks per thread a matmul is split into: decided once, at compile time, from
// the tuning cache (tuning/tile_choice.h), and kept in plans.
struct RowSplit {
  int decode_tasks_per_thread;   // one token
  int prefill_tasks_per_thread;  // several
};

// One bitlinear's activation quantizer, and per weight its matmul, row split and packed bytes.
struct CompiledLinear {
  std::unique_ptr<codegen::ActivationQuantizer> quantizer;
  std::vector<std::unique_ptr<codegen::TernaryMatmul>> matmuls;
  std::vector<RowSplit> splits;
  std::vector<codegen::TernaryPackedWeights> weights;
};

// Called with ranges of the model's bytes (I2_S codes, the f16 lm_head) once they have been
// copied into the kernels' layouts, from any thread: Model drops those file pages right away,
// so that loading never holds both copies of the weights (peak memory near the file size).
using SourceDone = std::function<void(const uint8_t* data, size_t bytes)>;

struct CompiledModel {
  codegen::Isa isa = codegen::Isa::kRef;
  std::unordered_map<const ir::Node*, CompiledLinear> linears;
  // The f16 lm_head: its GEMV and the model's table repacked into the kernel's row tiles.
  std::unique_ptr<codegen::F16Gemv> f16_lm_head;
  std::shared_ptr<const codegen::F16TiledTable> f16_lm_head_table;
  const ir::Value* f16_lm_head_source = nullptr;  // the graph's table that was tiled
  // --lm-head q8_0|q6_k (and a Q6_K token_embd): the quantized table and its kernel; null for
  // f16, where the tiled table is used.
  std::shared_ptr<const lm_head::QuantizedLmHead> quantized_lm_head;
  // Drops pages of the model file once read (CompileModel's `done`); null when none was given.
  SourceDone release_source;

  // Fills the kernels that need no weight data (quantizers, the f16 lm_head GEMV) for `graph`.
  void AddActivationKernels(const ir::Graph& graph);
  // Bytes of one WeightArena holding every matmul's packed weights.
  size_t PackedFootprint() const;
  // Repacks the graph's f16 lm_head table for f16_lm_head (in parallel on `pool`), handing
  // each packed range of the source to release_source.
  void PackF16LmHead(const ir::Graph& graph, ThreadPool& pool);
};

// Generates the kernels and repacks every ternary weight (in parallel on n_threads); with
// lm_head q8_0 / q6_k also quantizes the lm_head table. The graph must have been through the
// pass pipeline (fused bitlinears, weight layouts). Throws bitjit::Error if the CPU cannot run
// `isa`.
std::shared_ptr<const CompiledModel> CompileModel(
    const ir::Graph& graph, codegen::Isa isa, int n_threads = 0,
    lm_head::LmHeadType lm_head = lm_head::LmHeadType::kF16, const SourceDone& done = nullptr);

}  // namespace bitjit
