// bitjit bench: llama-bench-like throughput table. ppN = one prompt batch of N tokens; tgN = N
// decode steps of one token each (after a one-token prompt, not timed). Each test runs -r
// times on a fresh session; the table shows mean ± sd and the median.
//
// --isa, --ternary-packing and --lm-head take lists with -m: each combination is loaded as its own
// model and their repetitions are interleaved (A B A B ...), so that a machine whose speed
// drifts (a shared VM's memory bandwidth can double within minutes) affects all of them alike;
// "vs first" is the median of the per-repetition ratios to the first combination.
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/lm_head_type.h"
#include "ir/base/error.h"
#include "runtime/memory_bandwidth.h"
#include "runtime/thread_pool.h"
#include "tools/bench_timing.h"
#include "tools/command.h"
#include "tools/context_size.h"
#include "tools/flags.h"
#include "tools/id_list.h"
#include "tools/model_loading.h"
#include "tools/thread_count.h"

DEFINE_string(bench_p, "128", "prompt sizes to test, e.g. 128,512 (spelled -p)");
DEFINE_string(bench_n, "128", "generation lengths to test (spelled -n)");
DEFINE_string(bench_t, "", "thread counts, e.g. 1,2 (spelled -t; default: physical cores)");
DEFINE_int32(r, 5, "repetitions of each test");
DEFINE_bool(roofline, false, "measure memory read bandwidth and report tg against the roofline");

namespace bitjit::cli {
namespace {

// One model the run measures: -m MODEL with one --isa, --ternary-packing and --lm-head, or --plan.
struct Variant {
  std::unique_ptr<Model> model;
  double bytes_per_token = 0;  // decode reads (the roofline's numerator)
};

struct Row {
  std::string test;
  int threads;
  size_t variant;
  std::vector<double> tps;
  double mean = 0, sd = 0, median = 0;
  double bandwidth_gbps = 0;  // --roofline, tg rows: read bandwidth measured around the test
  double vs_first = 0;        // median of tps[i] / first variant's tps[i]; 0 for the first
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

void Summarize(Row* r) {
  const double n = static_cast<double>(r->tps.size());
  for (double x : r->tps) r->mean += x / n;
  for (double x : r->tps) r->sd += (x - r->mean) * (x - r->mean);
  r->sd = r->tps.size() > 1 ? std::sqrt(r->sd / (n - 1)) : 0;
  r->median = Median(r->tps);
}

std::vector<int32_t> ParseList(const std::string& text, const char* flag) {
  std::vector<int32_t> v = ParseIdList(text, flag);
  for (int32_t x : v)
    if (x <= 0) Fail("--", flag, " values must be positive");
  return v;
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) parts.push_back(part);
  if (parts.empty()) parts.push_back("");
  return parts;
}

// The models to measure: one per (isa, packing, lm_head) of the flags' lists, every entry
// checked before the first (slow) load.
std::vector<Variant> LoadVariants() {
  const std::vector<std::string> isas = SplitCommas(FLAGS_isa);
  const std::vector<std::string> packings = SplitCommas(FLAGS_ternary_packing);
  const std::vector<std::string> heads = SplitCommas(FLAGS_lm_head);
  if ((isas.size() > 1 || packings.size() > 1 || heads.size() > 1) && !FLAGS_plan.empty()) {
    Fail("lists of --isa / --ternary-packing / --lm-head need -m: a plan holds one of each");
  }
  for (const std::string& isa : isas) {
    if (isa.empty() && isas.size() > 1) Fail("--isa: an empty list entry");
    if (!isa.empty()) codegen::ResolveIsa(codegen::ParseIsa(isa));
  }
  for (const std::string& packing : packings) {
    if (packing.empty() && packings.size() > 1) Fail("--ternary-packing: an empty list entry");
    Model::ParsePackingOption(packing);
  }
  for (const std::string& head : heads) {
    if (head.empty() && heads.size() > 1) Fail("--lm-head: an empty list entry");
    lm_head::ParseLmHeadType(head);
  }
  std::vector<Variant> variants;
  for (const std::string& isa : isas) {
    for (const std::string& packing : packings) {
      for (const std::string& head : heads) {
        Variant v;
        v.model = LoadModelFromFlags({packing, head, isa, /*use_plan_cache=*/true,
                                      /*plan_cache_in_background=*/false});
        v.bytes_per_token = static_cast<double>(v.model->DecodeWeightBytes());
        variants.push_back(std::move(v));
      }
    }
  }
  return variants;
}

// Runs `once(session of variant v)` -r + 1 times per variant, interleaved; the first round
// warms up (page cache, threads, activation buffers, the KV cache's pages) and is not kept.
template <typename Once>
std::vector<Row> Interleaved(const std::vector<Variant>& variants, const std::string& test,
                             int threads, int64_t n_ctx, Once&& once) {
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<Row> rows;
  for (size_t v = 0; v < variants.size(); ++v) {
    sessions.push_back(std::make_unique<Session>(*variants[v].model, n_ctx, threads));
    rows.push_back(Row{test, threads, v, {}});
  }
  for (int rep = 0; rep <= FLAGS_r; ++rep) {
    for (size_t v = 0; v < variants.size(); ++v) {
      sessions[v]->Truncate(0);  // as llama-bench clears its KV cache
      const double tps = once(*sessions[v]);
      if (rep > 0) rows[v].tps.push_back(tps);
    }
  }
  for (Row& r : rows) {
    Summarize(&r);
    if (r.variant == 0) continue;
    std::vector<double> ratios;
    for (size_t i = 0; i < r.tps.size(); ++i) ratios.push_back(r.tps[i] / rows[0].tps[i]);
    r.vs_first = Median(ratios);
  }
  return rows;
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
  for (int32_t t : threads) CheckThreadCount(t, "-t");
  const std::vector<Variant> variants = LoadVariants();
  const Model& first = *variants[0].model;
  const int64_t vocab = first.config().n_vocab;
  int32_t max_p = *std::max_element(prompts.begin(), prompts.end());
  int32_t max_n = *std::max_element(gens.begin(), gens.end());
  // ppN runs in a context of N tokens, tgN in one of N + 1: the same checks as -c.
  CheckContextSize(first, max_p, 1, "-p " + std::to_string(max_p));
  CheckContextSize(first, int64_t{max_n} + 1, 1,
                   "-n " + std::to_string(max_n) + " (+1 prompt token)");
  std::mt19937 rng(1234);
  std::vector<int32_t> tokens(std::max(max_p, max_n) + 1);
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % vocab);

  std::vector<Row> rows;
  std::vector<float> logits;
  auto add = [&](std::vector<Row> group) { rows.insert(rows.end(), group.begin(), group.end()); };
  for (int32_t t : threads) {
    for (int32_t p : prompts) {
      add(Interleaved(variants, "pp" + std::to_string(p), t, p, [&](Session& s) {
        return p / TimePrompt(s, std::span(tokens.data(), p), /*n_batch=*/0);
      }));
    }
    for (int32_t n : gens) {
      // The probe runs right before and after the test and the higher reading counts: a VM's
      // bandwidth drifts within minutes, and a probe taken elsewhere in the run can put decode
      // above "its" roofline.
      const double before = FLAGS_roofline ? MeasureReadBandwidth(t) : 0;
      std::vector<Row> group =
          Interleaved(variants, "tg" + std::to_string(n), t, n + 1, [&](Session& s) {
            s.Eval(std::span(tokens.data(), 1), false, &logits);
            return n / TimeGeneration(s, std::span(&tokens[1], n));
          });
      const double after = FLAGS_roofline ? MeasureReadBandwidth(t) : 0;
      for (Row& r : group) r.bandwidth_gbps = std::max(before, after);
      add(std::move(group));
    }
  }

  const auto& cpu = codegen::HostCpu();
  const bool several = variants.size() > 1;
  auto packing = [&](const Row& r) { return variants[r.variant].model->ternary_packing_name(); };
  auto lm_head = [&](const Row& r) { return variants[r.variant].model->options().lm_head; };
  auto isa = [&](const Row& r) { return variants[r.variant].model->isa_name(); };
  if (FLAGS_json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Row& r : rows) {
      nlohmann::json j = {
          {"test", r.test},       {"threads", r.threads}, {"tokens_per_second", r.mean},
          {"stddev", r.sd},       {"median", r.median},   {"reps", r.tps},
          {"isa", isa(r)},        {"cpu", cpu.brand},     {"ternary_packing", packing(r)},
          {"lm_head", lm_head(r)}};
      if (several && r.variant > 0) j["vs_first"] = r.vs_first;
      if (FLAGS_roofline && r.test.rfind("tg", 0) == 0) {
        const double bytes = variants[r.variant].bytes_per_token;
        const double roof = r.bandwidth_gbps * 1e9 / bytes;
        j["bytes_per_token"] = bytes;
        j["bandwidth_gbps"] = r.bandwidth_gbps;
        j["roofline_tokens_per_second"] = roof;
        j["roofline_fraction"] = r.median / roof;
      }
      out.push_back(j);
    }
    std::printf("%s\n", out.dump(1).c_str());
    return 0;
  }
  if (several) {
    std::printf("model: %s | isa: %s | cpu: %s | %zu variants, repetitions interleaved\n",
                first.file().path().c_str(), first.isa_name().c_str(), cpu.brand.c_str(),
                variants.size());
  } else {
    std::printf("model: %s | isa: %s | ternary weights: %s | lm_head: %s | cpu: %s\n",
                first.file().path().c_str(), first.isa_name().c_str(), packing(rows[0]).c_str(),
                lm_head(rows[0]).c_str(), cpu.brand.c_str());
  }
  std::printf("| %-7s | %7s |%s %18s | %10s |%s%s\n", "test", "threads",
              several ? " isa        | weights | lm_head |" : "", "t/s (mean ± sd)", "median",
              several ? " vs first |" : "",
              FLAGS_roofline ? " roofline (bytes/token, GB/s, t/s, fraction) |" : "");
  std::printf("| ------- | ------: |%s -----------------: | ---------: |%s%s\n",
              several ? " ---------- | ------- | ------- |" : "", several ? " -------: |" : "",
              FLAGS_roofline ? " --- |" : "");
  for (const Row& r : rows) {
    std::printf("| %-7s | %7d |", r.test.c_str(), r.threads);
    if (several) {
      std::printf(" %-10s | %-7s | %-7s |", isa(r).c_str(), packing(r).c_str(), lm_head(r).c_str());
    }
    std::printf(" %10.2f ± %5.2f | %10.2f |", r.mean, r.sd, r.median);
    if (several && r.variant == 0) std::printf(" %8s |", "-");
    if (several && r.variant > 0) std::printf(" %7.3fx |", r.vs_first);
    if (FLAGS_roofline && r.test.rfind("tg", 0) == 0) {
      const double bytes = variants[r.variant].bytes_per_token;
      const double roof = r.bandwidth_gbps * 1e9 / bytes;
      std::printf(" %.0f MB, %.1f GB/s, %.1f t/s, %.0f%% |", bytes / 1e6, r.bandwidth_gbps, roof,
                  100 * r.median / roof);
    } else if (FLAGS_roofline) {
      std::printf(" |");
    }
    std::printf("\n");
  }
  return 0;
}

}  // namespace

BITJIT_COMMAND(bench, "bench", "throughput table: prompt (ppN) and generation (tgN) tokens/s",
               "-m MODEL|--plan PLAN [-p 128,512] [-n 128] [-t 1,2] [-r 5] [--json] [--roofline] "
               "[--isa avx512vnni,avx512amx] [--ternary-packing 2bit,1.6bit] [--lm-head f16,q6_k] "
               "[--mmap]",
               {"m", "plan", "numerics", "isa", "bench_p", "bench_n", "bench_t", "r", "json",
                "roofline", "tuning_cache", "lm_head", "ternary_packing", "allow_long_context",
                "mmap", "plan_cache"},
               &RunBench, {{"p", "bench_p"}, {"n", "bench_n"}, {"t", "bench_t"}});

}  // namespace bitjit::cli
