// The C++ API's entry points. A Model is loaded once (mapped GGUF, config, tokenizer, lowered
// graph) and is shared read-only; a Session holds one conversation's KV cache and position.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "codegen/ternary/ternary_layout.h"
#include "frontend/gguf/gguf_file.h"
#include "frontend/model/model_config.h"
#include "frontend/tokenizer/tokenizer.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "runtime/executor.h"
#include "runtime/kv_cache.h"

namespace bitjit {

struct CompiledModel;
class Schedule;

// Where LoadPlan puts a plan's weights (its sidecar). Decode streams them every token, so what
// matters is the pages they sit in: through 4 KiB pages every 4 KiB is a TLB miss (decode ~15%
// slower on a VM); copying into fresh huge-page memory makes the host back a gigabyte of new
// pages first (seconds of start-up on a VM).
enum class PlanWeights {
  // In place where the kernel maps at least 3/4 of a sample of the sidecar with 2 MiB pages
  // (its 2 MiB folios in the page cache: sidecars written in 2 MiB chunks on filesystems with
  // large folios, runtime/plan/sidecar_writer.h), else copied.
  kAuto,
  kCopy,  // --mmap=false: copied into huge-page memory
  kMap,   // --mmap: run on the mapped sidecar in place, whatever its pages
};

struct ModelOptions {
  ir::Numerics numerics = ir::Numerics::kBitnet;
  PreTokenizerKind pre_tokenizer = PreTokenizerKind::kAuto;
  bool optimize = true;  // run the default pass pipeline on the lowered graph
  // "" = the best the CPU has; "ref" = the reference interpreter; else avx2, avx512,
  // avx512vnni, avxvnni, avx512amx (a cap: refused if the CPU lacks it).
  std::string isa;
  int n_threads = 0;  // 0 = physical cores
  // --lm-head (codegen/lmhead/lm_head_type.h): "f16" multiplies the model file's own table
  // (bitnet.cpp's numerics); "q8_0" / "q6_k" quantize it at compile time (JIT path only; Load
  // refuses them with isa "ref"). LoadPlan: "" takes the plan's, anything else must match it.
  std::string lm_head = "f16";
  // --ternary-packing: "auto" (the tuning cache's choice, else 1.6 bits where the CPU has
  // the kernels: runtime/tuning/tile_choice.h), "2bit" or "1.6bit" (refused where the CPU
  // lacks avx512vnni + AVX512_VBMI). LoadPlan: "auto" takes the plan's, else must match it.
  std::string ternary_packing = "auto";
  // LoadPlan: where the plan's sidecar weights go (PlanWeights).
  PlanWeights plan_weights = PlanWeights::kAuto;
};

class Model {
 public:
  // Maps, validates and lowers a bitnet-b1.58 GGUF, runs the passes and compiles kernels.
  // Throws bitjit::Error.
  static std::unique_ptr<Model> Load(const std::string& path, const ModelOptions& options = {});

  // Writes a compiled plan: PATH (protobuf: optimized graph, kernels and tiles, memory plan,
  // CPU, model identity) and PATH.weights (the repacked ternary weights). Needs the JIT path.
  struct PlanStats {
    uint64_t plan_bytes = 0, sidecar_bytes = 0;
    int n_kernels = 0;
  };
  PlanStats SavePlan(const std::string& path) const;
  // Loads a plan without running passes or repacking. `model_path` overrides the GGUF path
  // recorded in the plan. Refuses (bitjit::Error) a plan whose model identity or required CPU
  // features do not match. options.isa, optimize and numerics are taken from the plan.
  static std::unique_ptr<Model> LoadPlan(const std::string& path, const ModelOptions& options = {},
                                         const std::string& model_path = "");
  bool from_plan() const { return from_plan_; }

  const gguf::GgufFile& file() const { return *file_; }
  const ModelConfig& config() const { return config_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const ir::Graph& graph() const { return *graph_; }
  const ModelOptions& options() const { return options_; }

  // The forward pass as bound steps, with each step's kernels (`bitjit ir --plan`).
  const Schedule& schedule() const { return *schedule_; }

  // A fresh executor for this model's graph (one per session: executors keep scratch state
  // and threads); all share the model's compiled kernels and packed weights.
  // n_threads < 0 takes the model's option.
  std::unique_ptr<Executor> CreateExecutor(int n_threads = -1) const;
  // Bytes of weights one decode step reads (ternary weights as the kernels store them, the
  // lm_head table, the norms): the numerator of the memory roofline.
  int64_t DecodeWeightBytes() const;
  // The instruction set the executors use ("ref" = interpreter).
  std::string isa_name() const;
  // How the kernels store the ternary weights: "2bit", "1.6bit", "2bit+1.6bit" when tuned
  // shapes differ, "i2_s" on the interpreter (it reads the file's bytes).
  std::string ternary_packing_name() const;
  // What the passes know of the target an isa option ("" = best, "ref", avx2, ...) means.
  static passes::PassContext TargetContext(const std::string& isa_option,
                                           const std::string& packing_option = "auto");
  // --ternary-packing's value: nullopt for "auto" (or ""); bitjit::Error naming the choices.
  static std::optional<codegen::TernaryPacking> ParsePackingOption(const std::string& option);

  // The context a session gets when none is asked for: the model's, capped so that the KV
  // cache stays within kDefaultKvBudget bytes.
  int64_t DefaultContext() const;
  static constexpr int64_t kDefaultKvBudget = int64_t{2} << 30;

 private:
  Model() = default;
  // The GGUF, config and tokenizer (what both Load and LoadPlan need).
  static std::unique_ptr<Model> Open(const std::string& path, const ModelOptions& options);
  // Drops the file's pages of the lm_head table once the JIT path reads a copy of it (the
  // tiled f16 copy or the --lm-head quantized table).
  void ReleaseLmHeadPages() const;
  // The JIT path's callback for model bytes it has copied: drops their pages of the file.
  std::function<void(const uint8_t* data, size_t bytes)> FilePageRelease() const;
  std::unique_ptr<gguf::GgufFile> file_;
  ModelConfig config_;
  ModelOptions options_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ir::Graph> graph_;
  std::shared_ptr<const CompiledModel> compiled_;  // the JIT path's; null for "ref"
  std::shared_ptr<const Schedule> schedule_;       // the forward pass every executor runs
  bool from_plan_ = false;
};

class Session {
 public:
  // n_ctx <= 0 takes the model's default; n_threads < 0 the model's option. Throws
  // bitjit::Error when the cache cannot be had.
  Session(const Model& model, int64_t n_ctx, int n_threads = -1);

  const Model& model() const { return model_; }
  int64_t n_ctx() const { return cache_.n_ctx(); }
  int64_t n_past() const { return n_past_; }
  // Forgets positions >= n (n = 0 clears the conversation).
  void Truncate(int64_t n);

  // Runs `tokens` as one batch at positions n_past.. and appends them to the sequence.
  // Writes the logits of the last token (all_rows = false) or of every token, row-major
  // [rows][n_vocab]. Throws bitjit::Error when the tokens do not fit in the context or an id
  // is outside the vocabulary.
  void Eval(std::span<const int32_t> tokens, bool all_rows, std::vector<float>* logits);
  // Runs `tokens` as one batch but computes each as its own one-token Eval would: the logits of
  // every token, bit-identical to evaluating them one by one (verifying drafted tokens).
  void EvalAsDecodeSteps(std::span<const int32_t> tokens, std::vector<float>* logits);

 private:
  void Run(std::span<const int32_t> tokens, bool all_rows, bool decode_steps,
           std::vector<float>* logits);

  const Model& model_;
  std::unique_ptr<Executor> executor_;
  KvCache cache_;
  int64_t n_past_ = 0;
};

}  // namespace bitjit
