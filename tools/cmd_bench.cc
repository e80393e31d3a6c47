// bitjit bench: llama-bench-like throughput table. ppN = one prompt batch of N tokens; tgN = N
// decode steps of one token each (after a one-token prompt, not timed). Each test runs -r
// times on a fresh session; the table shows mean ± sd and the median.
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>

#include "codegen/cpu_features.h"
#include "ir/base/error.h"
#include "runtime/memory_bandwidth.h"
#include "runtime/thread_pool.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/id_list.h"
#include "tools/model_loading.h"

DEFINE_string(bench_p, "128", "prompt sizes to test, e.g. 128,512 (spelled -p)");
DEFINE_string(bench_n, "128", "generation lengths to test (spelled -n)");
DEFINE_string(bench_t, "", "thread counts, e.g. 1,2 (spelled -t; default: physical cores)");
DEFINE_int32(r, 5, "repetitions of each test");
DEFINE_bool(roofline, false, "measure memory read bandwidth and report tg against the roofline");

namespace bitjit::cli {
namespace {

struct Row {
  std::string test;
  int threads;
  std::vector<double> tps;
  double mean = 0, sd = 0, median = 0;
  double bandwidth_gbps = 0;  // --roofline, tg rows: read bandwidth measured around the test
};

void Summarize(Row* r) {
  const double n = static_cast<double>(r->tps.size());
  for (double x : r->tps) r->mean += x / n;
  for (double x : r->tps) r->sd += (x - r->mean) * (x - r->mean);
  r->sd = r->tps.size() > 1 ? std::sqrt(r->sd / (n - 1)) : 0;
  std::vector<double> s = r->tps;
  std::sort(s.begin(), s.end());
  r->median = s[s.size() / 2];
}

std::vector<int32_t> ParseList(const std::string& text, const char* flag) {
  std::vector<int32_t> v = ParseIdList(text, flag);
  for (int32_t x : v)
    if (x <= 0) Fail("--", flag, " values must be positive");
  return v;
}

int RunBench(const Args& args) {
  if (!args.positional.empty()) Fail("bench takes no arguments (got '", args.positional[0], "')");
  if (FLAGS_r < 1) Fail("-r must be at least 1");
  // -p, -n and -t are lists here (see the command's aliases).
  const auto prompts = ParseList(FLAGS_bench_p, "p");
  const auto gens = ParseList(FLAGS_bench_n, "n");
  std::vector<int32_t> threads = FLAGS_bench_t.empty()
                                     ? std::vector<int32_t>{ThreadPool::PhysicalCores()}
                                     : ParseList(FLAGS_bench_t, "t");
  auto model = LoadModelFromFlags();
  const int64_t vocab = model->config().n_vocab;
  int32_t max_p = *std::max_element(prompts.begin(), prompts.end());
  int32_t max_n = *std::max_element(gens.begin(), gens.end());
  std::mt19937 rng(1234);
  std::vector<int32_t> tokens(std::max(max_p, max_n) + 1);
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % vocab);

  std::vector<Row> rows;
  std::vector<float> logits;
  for (int32_t t : threads) {
    for (int32_t p : prompts) {
      Row row{"pp" + std::to_string(p), t, {}};
      // One session per test, cleared between repetitions (as llama-bench clears its KV
      // cache): rep 0 warms up page cache, threads, activation buffers and the cache's pages,
      // which a served conversation pays once, not per prompt.
      Session s(*model, p, t);
      for (int rep = 0; rep <= FLAGS_r; ++rep) {
        s.Truncate(0);
        const auto t0 = std::chrono::steady_clock::now();
        s.Eval(std::span(tokens.data(), p), false, &logits);
        const double sec =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (rep > 0) row.tps.push_back(p / sec);
      }
      rows.push_back(row);
    }
    for (int32_t n : gens) {
      Row row{"tg" + std::to_string(n), t, {}};
      // The probe runs right before and after the test and the higher reading counts: a VM's
      // bandwidth drifts within minutes, and a probe taken elsewhere in the run can put decode
      // above "its" roofline.
      if (FLAGS_roofline) row.bandwidth_gbps = MeasureReadBandwidth(t);
      Session s(*model, n + 1, t);
      for (int rep = 0; rep <= FLAGS_r; ++rep) {
        s.Truncate(0);
        s.Eval(std::span(tokens.data(), 1), false, &logits);
        const auto t0 = std::chrono::steady_clock::now();
        for (int32_t i = 0; i < n; ++i) s.Eval(std::span(&tokens[1 + i], 1), false, &logits);
        const double sec =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (rep > 0) row.tps.push_back(n / sec);
      }
      if (FLAGS_roofline)
        row.bandwidth_gbps = std::max(row.bandwidth_gbps, MeasureReadBandwidth(t));
      rows.push_back(row);
    }
  }
  for (Row& r : rows) Summarize(&r);

  const double bytes_per_token = static_cast<double>(model->DecodeWeightBytes());
  const auto& cpu = codegen::HostCpu();
  if (FLAGS_json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Row& r : rows) {
      nlohmann::json j = {{"test", r.test},
                          {"threads", r.threads},
                          {"tokens_per_second", r.mean},
                          {"stddev", r.sd},
                          {"median", r.median},
                          {"reps", r.tps},
                          {"isa", model->isa_name()},
                          {"cpu", cpu.brand},
                          {"ternary_packing", model->ternary_packing_name()},
                          {"lm_head", model->options().lm_head}};
      if (FLAGS_roofline && r.test.rfind("tg", 0) == 0) {
        const double roof = r.bandwidth_gbps * 1e9 / bytes_per_token;
        j["bytes_per_token"] = bytes_per_token;
        j["bandwidth_gbps"] = r.bandwidth_gbps;
        j["roofline_tokens_per_second"] = roof;
        j["roofline_fraction"] = r.median / roof;
      }
      out.push_back(j);
    }
    std::printf("%s\n", out.dump(1).c_str());
    return 0;
  }
  std::printf("model: %s | isa: %s | ternary weights: %s | lm_head: %s | cpu: %s\n",
              model->file().path().c_str(), model->isa_name().c_str(),
              model->ternary_packing_name().c_str(), model->options().lm_head.c_str(),
              cpu.brand.c_str());
  std::printf("| %-7s | %7s | %18s | %10s |%s\n", "test", "threads", "t/s (mean ± sd)", "median",
              FLAGS_roofline ? " roofline (bytes/token, GB/s, t/s, fraction) |" : "");
  std::printf("| ------- | ------: | -----------------: | ---------: |%s\n",
              FLAGS_roofline ? " --- |" : "");
  for (const Row& r : rows) {
    std::printf("| %-7s | %7d | %10.2f ± %5.2f | %10.2f |", r.test.c_str(), r.threads, r.mean, r.sd,
                r.median);
    if (FLAGS_roofline && r.test.rfind("tg", 0) == 0) {
      const double roof = r.bandwidth_gbps * 1e9 / bytes_per_token;
      std::printf(" %.0f MB, %.1f GB/s, %.1f t/s, %.0f%% |", bytes_per_token / 1e6,
                  r.bandwidth_gbps, roof, 100 * r.median / roof);
    } else if (FLAGS_roofline) {
      std::printf(" |");
    }
    std::printf("\n");
  }
  return 0;
}

}  // namespace

BITJIT_COMMAND(bench, "bench", "throughput table: prompt (ppN) and generation (tgN) tokens/s",
               "-m MODEL|--plan PLAN [-p 128,512] [-n 128] [-t 1,2] [-r 5] [--json] [--roofline]",
               {"m", "plan", "numerics", "isa", "bench_p", "bench_n", "bench_t", "r", "json",
                "roofline", "tuning_cache", "lm_head", "ternary_packing"},
               &RunBench, {{"p", "bench_p"}, {"n", "bench_n"}, {"t", "bench_t"}});

}  // namespace bitjit::cli
