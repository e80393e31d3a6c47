// bitjit tune: measures, on this machine, which kernel tile each ternary matmul shape of a model
// should use (runtime/tuning/tile_tuner.h) and how far ahead its F16 lm_head prefetches
// (runtime/tuning/lm_head_tuner.h), and stores the winners in the tuning cache
// (runtime/tuning/tuning_cache.h), where `compile` and `run` pick them up on the same kind of
// CPU. `--show` prints the cache.
#include <gflags/gflags.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "ir/base/error.h"
#include "ir/base/output_path.h"
#include "ir/graph.h"
#include "runtime/model.h"
#include "runtime/thread_pool.h"
#include "runtime/tuning/lm_head_tuner.h"
#include "runtime/tuning/tile_tuner.h"
#include "runtime/tuning/tuning_cache.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/model_loading.h"
#include "tools/progress_bar.h"
#include "tools/thread_count.h"

DEFINE_double(budget, 60, "seconds of measurement, split evenly across the model's matmul shapes");
DEFINE_bool(show, false, "print the tuning cache (text format) and exit");
DEFINE_int32(prefill_tokens, 128, "tokens per GEMM call when measuring prefill");
DEFINE_string(tuning_cache, "",
              "tuning cache file (default: $BITJIT_TUNING_CACHE, else "
              "$XDG_CACHE_HOME/bitjit/tuning.textproto or ~/.cache/bitjit/tuning.textproto)");

namespace {
// Every command that lists "tuning_cache" in its flags gets the path applied as the flag is
// parsed, before it loads a model: a gflags validator is the hook that runs at that moment
// without each command's code having to call it.
bool ApplyTuningCachePath(const char* /*flag*/, const std::string& path) {
  bitjit::tuning::SetTuningCachePath(path);
  return true;
}
}  // namespace
DEFINE_validator(tuning_cache, &ApplyTuningCachePath);

namespace bitjit::cli {
namespace {

using Clock = std::chrono::steady_clock;

// The model's ternary weights grouped by shape, in graph order. Merged QKV nodes still hold
// one matmul per weight, so every weight is its own (k, n).
std::vector<tuning::ShapeTensors> TernaryShapes(const ir::Graph& graph) {
  std::vector<tuning::ShapeTensors> shapes;
  for (const auto& node : graph.nodes()) {
    if (node->kind != ir::OpKind::kBitLinear) continue;
    for (int i = 0; i < node->attrs.n_weights; ++i) {
      const ir::Value* w = node->bl_weight(i);
      const int64_t k = w->shape[1], n = w->shape[0];
      auto it = std::find_if(shapes.begin(), shapes.end(),
                             [&](const tuning::ShapeTensors& s) { return s.k == k && s.n == n; });
      if (it == shapes.end()) it = shapes.insert(shapes.end(), tuning::ShapeTensors{k, n, {}, {}});
      it->i2s.push_back(w->producer->constant.data);
      it->scales.push_back(w->producer->constant.scale);
    }
  }
  return shapes;
}

// The model's F16 lm_head table (the tied token_embd or output.weight), if it has one.
std::optional<tuning::F16LmHeadTable> F16LmHead(const ir::Graph& graph) {
  for (const auto& node : graph.nodes()) {
    if (node->kind != ir::OpKind::kLmHead) continue;
    const ir::Value* table = node->operands[1];
    if (table->dtype != ir::DType::kF16 || table->producer == nullptr) return std::nullopt;
    return tuning::F16LmHeadTable{reinterpret_cast<const uint16_t*>(table->producer->constant.data),
                                  table->shape[1], table->shape[0]};
  }
  return std::nullopt;
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Figure(double value, const std::string& unit) {
  if (value <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %s", value, unit.c_str());
  return buf;
}

int ShowCache(const std::string& path) {
  const tuning::TuningCache cache = tuning::ReadTuningCacheFile(path);  // throws when damaged
  std::printf("# %s\n", path.c_str());
  if (cache.entries_size() == 0) {
    std::printf("# (no entries: run `bitjit tune -m MODEL`)\n");
    return 0;
  }
  std::printf("%s", tuning::FormatTuningCache(cache).c_str());
  return 0;
}

int RunTune(const Args& args) {
  if (!args.positional.empty()) Fail("tune takes no arguments (got '", args.positional[0], "')");
  const std::string path = tuning::TuningCachePath();
  if (FLAGS_show) return ShowCache(path);
  tuning::CheckTuningCacheRewritable(path);  // before minutes of measuring, not after
  if (!(FLAGS_budget > 0)) Fail("--budget must be a positive number of seconds");
  CheckThreadCount(FLAGS_t, "-t");
  if (FLAGS_prefill_tokens < 2 || FLAGS_prefill_tokens > 4096) {
    Fail("--prefill-tokens must be in [2, 4096]");
  }
  if (FLAGS_isa == "ref") Fail("--isa ref runs no JIT kernels: there is nothing to tune");
  const codegen::Isa isa =
      codegen::ResolveIsa(FLAGS_isa.empty() ? codegen::BestIsa() : codegen::ParseIsa(FLAGS_isa));

  // The optimized graph without compiled kernels ("ref"): the tuner packs what it measures.
  ModelOptions options;
  options.isa = "ref";
  auto model = Model::Load(ModelPathFromFlags(), options);
  const std::vector<tuning::ShapeTensors> shapes = TernaryShapes(model->graph());
  if (shapes.empty()) Fail(model->file().path(), " has no ternary matmuls to tune");

  const int threads = FLAGS_t > 0 ? FLAGS_t : ThreadPool::PhysicalCores();
  const auto& cpu = codegen::HostCpu();
  const std::optional<tuning::F16LmHeadTable> lm_head = F16LmHead(model->graph());
  const size_t stages = shapes.size() + (lm_head ? 1 : 0);
  std::vector<tuning::ShapeTuning> results;
  std::vector<std::string> dims;  // of each result, "k x n"
  auto tune = [&](const std::string& what, const auto& measure) {
    tuning::TuneOptions o;
    o.isa = isa;
    o.threads = threads;
    o.prefill_tokens = FLAGS_prefill_tokens;
    o.budget_s = FLAGS_budget / static_cast<double>(stages);
    ProgressBar bar("tune " + what);
    const auto start = Clock::now();
    const uint64_t total_ms = static_cast<uint64_t>(o.budget_s * 1000);
    o.tick = [&] {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
      bar.Update(std::min<uint64_t>(static_cast<uint64_t>(ms.count()), total_ms), total_ms);
    };
    results.push_back(measure(o));
    dims.push_back(what);
    bar.Finish();
  };
  for (const tuning::ShapeTensors& shape : shapes) {
    tune(std::to_string(shape.k) + "x" + std::to_string(shape.n),
         [&](const tuning::TuneOptions& o) { return tuning::TuneShape(shape, o); });
  }
  if (lm_head) {
    tune(std::to_string(lm_head->n_embd) + "x" + std::to_string(lm_head->vocab),
         [&](const tuning::TuneOptions& o) { return tuning::TuneF16LmHead(*lm_head, o); });
  }

  std::vector<tuning::TuningEntry> entries;
  const std::string now = UtcNow();
  for (tuning::ShapeTuning& r : results) {
    r.entry.set_tuned_at(now);
    entries.push_back(r.entry);
  }
  tuning::MergeIntoTuningCacheFile(path, entries);

  std::printf(
      "cpu: %s (%s family %d model %d) | isa: %s | threads: %d | prefill: %d tokens | "
      "budget: %.0f s\n",
      cpu.brand.c_str(), cpu.vendor.c_str(), cpu.family, cpu.model,
      std::string(codegen::IsaName(isa)).c_str(), threads, FLAGS_prefill_tokens, FLAGS_budget);
  std::printf("| %-11s | %-8s | %5s | %-10s | %-10s | %13s | %13s | %7s |\n", "shape k x n", "kind",
              "tried", "winner", "default", "winner", "default", "speedup");
  std::printf(
      "| ----------- | -------- | ----: | ---------- | ---------- | ------------: | "
      "------------: | ------: |\n");
  for (size_t i = 0; i < results.size(); ++i) {
    for (const tuning::TunedRow& row : results[i].rows) {
      char speedup[16] = "-";
      if (row.speedup > 0) std::snprintf(speedup, sizeof speedup, "%.2fx", row.speedup);
      std::printf("| %-11s | %-8s | %5d | %-10s | %-10s | %13s | %13s | %7s |\n", dims[i].c_str(),
                  row.kind.c_str(), row.tried, row.winner.c_str(), row.fallback.c_str(),
                  Figure(row.winner_figure, row.unit).c_str(),
                  Figure(row.default_figure, row.unit).c_str(), speedup);
    }
  }
  std::printf(
      "figures: medians of interleaved samples; speedup: median of per-round ratios; "
      "decode and prefill compare the whole winning configuration with the defaults; "
      "decode GB/s counts 2 bits per weight whatever the packing (:2b, :1.6b), so packings "
      "compare by weights per second; lm_head GB/s: the F16 table's bytes\n");
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].note.empty()) std::printf("%s: %s\n", dims[i].c_str(), results[i].note.c_str());
  }
  std::printf("wrote %zu entries to %s\n", entries.size(), path.c_str());
  return 0;
}

}  // namespace

BITJIT_COMMAND(tune, "tune", "measure the fastest kernel tiles for a model's matmuls on this CPU",
               "-m MODEL [--budget 60] [--isa avx2|avx512|avx512vnni|avxvnni|avx512amx] [-t N] "
               "[--prefill-tokens 128] [--tuning-cache FILE] | --show",
               {"m", "isa", "t", "budget", "show", "prefill_tokens", "tuning_cache"}, &RunTune);

}  // namespace bitjit::cli
