// What exact speculative decoding (--draft) pays per step: one forward pass over the step's
// token and k drafted tokens, each row with the decode roundings (Session::EvalAsDecodeSteps),
// against the plain one-token decode step (rows = 1). On a memory-bound model the weights are
// read once per step whatever the rows, so a step of 1 + k rows that keeps a accepted drafts
// yields 1 + a tokens for (time of 1 + k rows); the ratios here say when drafting pays.
// Run: BITJIT_BENCH_MODEL=/tmp/2b4t.gguf BITJIT_BENCH_THREADS=2 ./build/bench/draft_verify_bench
//        --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "runtime/model.h"

namespace bitjit {
namespace {

const Model& BenchModel() {
  static const std::unique_ptr<Model> model = [] {
    const char* path = std::getenv("BITJIT_BENCH_MODEL");
    const char* threads = std::getenv("BITJIT_BENCH_THREADS");
    ModelOptions options;
    options.n_threads = threads ? std::atoi(threads) : 0;
    return Model::Load(path ? path : BITJIT_SOURCE_DIR "/models/bitjit-stories.gguf", options);
  }();
  return *model;
}

void BM_VerifyRows(benchmark::State& state) {
  const Model& model = BenchModel();
  const int rows = static_cast<int>(state.range(0));
  Session session(model, 256);
  std::vector<int32_t> context(64), step(rows);
  std::iota(context.begin(), context.end(), 1);
  std::iota(step.begin(), step.end(), 100);
  std::vector<float> logits;
  session.Eval(context, false, &logits);
  for (auto _ : state) {
    session.Truncate(static_cast<int64_t>(context.size()));
    if (rows == 1) {
      session.Eval(step, false, &logits);
    } else {
      session.EvalAsDecodeSteps(step, &logits);
    }
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["rows"] = rows;
}
BENCHMARK(BM_VerifyRows)->Arg(1)->Arg(2)->Arg(3)->Arg(5)->Arg(9)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace bitjit

BENCHMARK_MAIN();
