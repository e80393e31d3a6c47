// The compiled path: executes an optimized graph (fused bitlinears, planned arena) with the
// JIT ternary kernels of codegen/ for the CPU's ISA and a thread pool. Weights are repacked
// once, here, into the layout the chosen kernels read. Every op not covered by a JIT kernel
// runs portable or intrinsic code with the reference's roundings.
#pragma once

#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/f16_gemv.h"
#include "codegen/quant/activation_quantizer.h"
#include "codegen/ternary/ternary_matmul.h"
#include "ir/graph.h"
#include "runtime/executor.h"
#include "runtime/lm_head/quantized_lm_head.h"
#include "runtime/thread_pool.h"

namespace bitjit {

struct BatchLayout;

class JitExecutor : public Executor {
 public:
  // How many row tasks per thread a matmul is split into: decided once, at compile time, from
  // the tuning cache (tuning/tile_choice.h), and kept in plans.
  struct RowSplit {
    int decode_tasks_per_thread;   // one token
    int prefill_tasks_per_thread;  // several
  };
  // One bitlinear's kernels and packed weights (one entry per weight).
  struct PackedLinear {
    std::unique_ptr<codegen::ActivationQuantizer> quantizer;
    std::vector<std::unique_ptr<codegen::TernaryMatmul>> matmuls;
    std::vector<RowSplit> splits;  // one per matmul
    std::vector<codegen::TernaryPackedWeights> weights;
  };
  // Called with ranges of the model's bytes (I2_S codes, the f16 lm_head) once they have been
  // copied into the kernels' layouts, from any thread: Model drops those file pages right away,
  // so that loading never holds both copies of the weights (peak memory near the file size).
  using SourceDone = std::function<void(const uint8_t* data, size_t bytes)>;
  // Kernels and repacked weights of every bitlinear of a graph: built once per model and
  // shared by all its executors.
  struct CompiledWeights {
    codegen::Isa isa;
    std::unordered_map<const ir::Node*, PackedLinear> linears;
    // The f16 lm_head: its GEMV and the model's table repacked into the kernel's row tiles.
    std::unique_ptr<codegen::F16Gemv> f16_lm_head;
    std::shared_ptr<const codegen::F16TiledTable> f16_lm_head_table;
    const ir::Value* f16_lm_head_source = nullptr;  // the graph's table that was tiled
    // Drops pages of the model file once read (Compile's `done`); null when none was given.
    SourceDone release_source;
    // --lm-head q8_0|q6_k: the lm_head table quantized at compile time and its kernel
    // (runtime/lm_head); null for f16, where the graph's own table is used.
    std::shared_ptr<const lm_head::QuantizedLmHead> quantized_lm_head;
    // Fills the kernels that need no weight data (quantizers, lm_head) for `graph`.
    void AddActivationKernels(const ir::Graph& graph);
    // Bytes of one WeightArena holding every matmul's packed weights.
    size_t PackedFootprint() const;
    // Repacks the graph's f16 lm_head table for f16_lm_head (in parallel on `pool`), handing
    // each packed range of the source to release_source.
    void PackF16LmHead(const ir::Graph& graph, ThreadPool& pool);
  };
  // Generates the kernels and repacks every ternary weight (in parallel on n_threads); with
  // lm_head q8_0 / q6_k also quantizes the lm_head table. Throws bitjit::Error if the CPU
  // cannot run `isa`.
  static std::shared_ptr<const CompiledWeights> Compile(
      const ir::Graph& graph, codegen::Isa isa, int n_threads = 0,
      lm_head::LmHeadType lm_head = lm_head::LmHeadType::kF16, const SourceDone& done = nullptr);

  // The graph must have been through the pass pipeline (plan-memory in particular).
  JitExecutor(const ir::Graph& graph, std::shared_ptr<const CompiledWeights> weights,
              int n_threads);
  ~JitExecutor() override;

  void Forward(const StepInputs& in, KvCache& cache, float* logits) override;
  const char* name() const override { return "jit"; }
  codegen::Isa isa() const { return isa_; }
  int n_threads() const { return pool_.n_threads(); }

 private:
  struct Impl;
  void RunBitLinear(const ir::Node& n, int64_t n_tokens);
  void RunAttention(const ir::Node& n, const StepInputs& in, const BatchLayout& layout,
                    KvCache& cache, int64_t n_tokens);
  void RunLmHead(const ir::Node& n, const BatchLayout& layout, int64_t n_rows);

  const ir::Graph& graph_;
  std::shared_ptr<const CompiledWeights> weights_;
  codegen::Isa isa_;
  ThreadPool pool_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bitjit
