// llama-bench: bitnet.cpp's e2e_benchmark.py command line (`llama-bench -m MODEL -n N -ngl 0 -b 1
// -t T -p P -r 5`) and llama-bench's other common flags, measured with `bitjit bench`'s timed
// loops (tools/bench_timing.h) and printed as llama-bench prints them: its markdown table, or
// -o csv|json|jsonl rows with its field names, so that scripts reading them keep working.
//
// As llama-bench: every combination of -m, -b, -ub, -fa and -t is an instance; each runs its
// ppN tests (one prompt of N tokens in -b/-ub batches), tgN tests (N one-token steps from an
// empty cache) and -pg pp,tg tests (both, timed together); one untimed warm-up run, then -r
// timed runs, each on a cleared cache.
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>
#include <sstream>

#include "codegen/cpu_features.h"
#include "ir/base/error.h"
#include "runtime/thread_pool.h"
#include "tools/bench_timing.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/int_ranges.h"
#include "tools/llama_flags.h"
#include "tools/model_description.h"
#include "tools/model_loading.h"

DECLARE_int32(r);
DEFINE_string(lb_p, "512", "prompt sizes, e.g. 128,512 or 128-512*2");
DEFINE_string(lb_n, "128", "generation lengths");
DEFINE_string(lb_pg, "", "prompt and generation together: pp,tg (may be given several times)");
DEFINE_string(lb_b, "2048", "prompt tokens per evaluation, at most (with -ub)");
DEFINE_string(lb_ub, "512", "prompt tokens per evaluation, at most (with -b)");
DEFINE_string(lb_t, "", "threads, e.g. 1,2 or 1-4 (default: physical cores)");
DEFINE_string(lb_ngl, "0", "GPU layers (bitjit runs on the CPU: none)");
DEFINE_string(lb_fa, "0", "flash attention 0,1 (bitjit has one attention kernel: no change)");
DEFINE_string(lb_o, "md", "output format: md, csv, json or jsonl");

namespace bitjit::cli {
namespace {

using Json = nlohmann::ordered_json;

struct Instance {
  std::string model_path;
  int n_batch, n_ubatch, n_threads, n_gpu_layers;
  bool flash_attn;
};

struct Test {
  Instance instance;
  int n_prompt = 0, n_gen = 0;
  std::string isa;  // the kernels' instruction set (a bitjit field beside llama-bench's)
  std::string test_time;
  std::vector<uint64_t> samples_ns;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::pair<int, int>> PromptGenPairs() {
  std::vector<std::pair<int, int>> pairs;
  for (const std::string& item : Lines(FLAGS_lb_pg)) {
    const std::vector<int> v = ParseIntRanges(item, "-pg", 0);
    if (v.size() != 2) Fail("-pg: '", item, "' is not a pair pp,tg (e.g. 512,128)");
    pairs.emplace_back(v[0], v[1]);
  }
  return pairs;
}

// -m may repeat and, as in llama-bench, take a comma-separated list.
std::vector<std::string> ModelPaths() {
  if (FLAGS_m.empty()) return {ModelPathFromFlags()};
  std::vector<std::string> paths;
  for (const std::string& line : Lines(FLAGS_m)) {
    std::stringstream in(line);
    for (std::string path; std::getline(in, path, ',');) {
      if (path.empty()) Fail("-m: an empty model path");
      paths.push_back(path);
    }
  }
  return paths;
}

double Mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

double StdDev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = Mean(v);
  double sq = 0;
  for (double x : v) sq += (x - m) * (x - m);
  return std::sqrt(sq / static_cast<double>(v.size() - 1));
}

std::vector<double> TokensPerSecond(const Test& t) {
  std::vector<double> ts;
  for (uint64_t ns : t.samples_ns)
    ts.push_back(1e9 * (t.n_prompt + t.n_gen) / static_cast<double>(ns));
  return ts;
}

std::string NowIso8601() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%FT%TZ", std::gmtime(&now));
  return text;
}

// Runs one test: a warm-up, then -r timed repetitions on a cleared cache.
void Measure(const Model& model, Test* t, const std::vector<int32_t>& tokens) {
  Session session(model, std::max(1, t->n_prompt + t->n_gen), t->instance.n_threads);
  const int batch = std::min(t->instance.n_batch, t->instance.n_ubatch);
  t->test_time = NowIso8601();
  for (int rep = 0; rep <= FLAGS_r; ++rep) {
    session.Truncate(0);
    double seconds = 0;
    if (t->n_prompt > 0)
      seconds += TimePrompt(session, std::span(tokens.data(), t->n_prompt), batch);
    if (t->n_gen > 0) {
      seconds += TimeGeneration(session, std::span(tokens.data() + t->n_prompt, t->n_gen));
    }
    if (rep > 0) t->samples_ns.push_back(static_cast<uint64_t>(seconds * 1e9));
  }
}

Json Fields(const Test& t, const ModelDescription& d) {
  std::vector<double> ns(t.samples_ns.begin(), t.samples_ns.end());
  const std::vector<double> ts = TokensPerSecond(t);
  return Json{{"build_commit", "bitjit"},
              {"build_number", 0},
              {"cpu_info", codegen::HostCpu().brand},
              {"gpu_info", ""},
              {"backends", "CPU"},
              {"isa", t.isa},
              {"model_filename", t.instance.model_path},
              {"model_type", d.type},
              {"model_size", d.size_bytes},
              {"model_n_params", d.n_params},
              {"n_batch", t.instance.n_batch},
              {"n_ubatch", t.instance.n_ubatch},
              {"n_threads", t.instance.n_threads},
              {"type_k", "f16"},
              {"type_v", "f16"},
              {"n_gpu_layers", t.instance.n_gpu_layers},
              {"flash_attn", t.instance.flash_attn},
              {"use_mmap", true},
              {"n_prompt", t.n_prompt},
              {"n_gen", t.n_gen},
              {"test_time", t.test_time},
              {"avg_ns", static_cast<uint64_t>(Mean(ns))},
              {"stddev_ns", static_cast<uint64_t>(StdDev(ns))},
              {"avg_ts", Mean(ts)},
              {"stddev_ts", StdDev(ts)},
              {"samples_ns", t.samples_ns},
              {"samples_ts", ts}};
}

std::string CsvQuoted(const Json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// The markdown table's columns: llama-bench shows n_batch, n_ubatch and fa only when they are
// not its defaults.
struct Column {
  std::string header;
  int width;  // negative: left-aligned
};

std::string TestName(const Test& t) {
  if (t.n_gen == 0) return "pp" + std::to_string(t.n_prompt);
  if (t.n_prompt == 0) return "tg" + std::to_string(t.n_gen);
  return "pp" + std::to_string(t.n_prompt) + "+tg" + std::to_string(t.n_gen);
}

std::string Printf(const char* format, double value, const char* unit) {
  char text[64];
  std::snprintf(text, sizeof text, format, value, unit);
  return text;
}

void PrintMarkdown(const std::vector<Test>& tests, const std::vector<ModelDescription>& descs,
                   const std::vector<size_t>& model_of) {
  const bool show_batch = FLAGS_lb_b != "2048", show_ubatch = FLAGS_lb_ub != "512",
             show_fa = FLAGS_lb_fa != "0";
  std::vector<Column> columns = {
      {"model", -30}, {"size", 10}, {"params", 10}, {"backend", -10}, {"threads", 7}};
  if (show_batch) columns.push_back({"n_batch", 7});
  if (show_ubatch) columns.push_back({"n_ubatch", 8});
  if (show_fa) columns.push_back({"fa", 2});
  columns.push_back({"test", 13});
  columns.push_back({"t/s", 20});
  std::string header = "|", rule = "|";
  for (const Column& c : columns) {
    char cell[64];
    std::snprintf(cell, sizeof cell, " %*s |", c.width, c.header.c_str());
    header += cell;
    rule += ' ';
    rule.append(static_cast<size_t>(std::abs(c.width) - 1), '-');
    rule += c.width > 0 ? ": |" : "- |";
  }
  std::printf("%s\n%s\n", header.c_str(), rule.c_str());
  for (size_t i = 0; i < tests.size(); ++i) {
    const Test& t = tests[i];
    const ModelDescription& d = descs[model_of[i]];
    const double gib = static_cast<double>(d.size_bytes) / (1024.0 * 1024.0 * 1024.0);
    const double params = static_cast<double>(d.n_params);
    const std::vector<double> ts = TokensPerSecond(t);
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.2f ± %.2f", Mean(ts), StdDev(ts));
    std::vector<std::string> values = {
        d.type, gib >= 1 ? Printf("%.2f %s", gib, "GiB") : Printf("%.2f %s", gib * 1024, "MiB"),
        params >= 1e9 ? Printf("%.2f %s", params / 1e9, "B") : Printf("%.2f %s", params / 1e6, "M"),
        "CPU", std::to_string(t.instance.n_threads)};
    if (show_batch) values.push_back(std::to_string(t.instance.n_batch));
    if (show_ubatch) values.push_back(std::to_string(t.instance.n_ubatch));
    if (show_fa) values.push_back(t.instance.flash_attn ? "1" : "0");
    values.push_back(TestName(t));
    values.push_back(rate);
    std::string row = "|";
    for (size_t c = 0; c < columns.size(); ++c) {
      // "±" is two bytes and one column: pad t/s by one more byte to keep the table aligned.
      const int extra = columns[c].header == "t/s" ? 1 : 0;
      char cell[256];
      std::snprintf(cell, sizeof cell, " %*s |", columns[c].width + extra, values[c].c_str());
      row += cell;
    }
    std::printf("%s\n", row.c_str());
    std::fflush(stdout);
  }
  std::printf("\nbuild: bitjit (%s)\n", codegen::HostCpu().brand.c_str());
}

int RunLlamaBench(const Args& args) {
  if (!args.positional.empty()) Fail("unexpected argument '", args.positional[0], "'");
  NoteLlamaFlags("llama-bench");
  if (FLAGS_r < 1) Fail("-r must be at least 1");
  const std::string format = FLAGS_lb_o;
  if (format != "md" && format != "csv" && format != "json" && format != "jsonl") {
    Fail("-o ", format, ": expected md, csv, json or jsonl (bitjit has no sql output)");
  }
  const std::vector<int> prompts = ParseIntRanges(FLAGS_lb_p, "-p", 0);
  const std::vector<int> gens = ParseIntRanges(FLAGS_lb_n, "-n", 0);
  const auto pairs = PromptGenPairs();
  const std::vector<int> batches = ParseIntRanges(FLAGS_lb_b, "-b", 1);
  const std::vector<int> ubatches = ParseIntRanges(FLAGS_lb_ub, "-ub", 1);
  const std::vector<int> threads = FLAGS_lb_t.empty()
                                       ? std::vector<int>{ThreadPool::PhysicalCores()}
                                       : ParseIntRanges(FLAGS_lb_t, "-t", 1);
  const std::vector<int> gpu_layers = ParseIntRanges(FLAGS_lb_ngl, "-ngl", 0);
  const std::vector<int> flash = ParseIntRanges(FLAGS_lb_fa, "-fa", 0);
  for (int fa : flash)
    if (fa > 1) Fail("-fa: values are 0 and 1");
  for (int ngl : gpu_layers) {
    if (ngl > 0 && !FLAGS_quiet) {
      std::fprintf(stderr, "note: llama-bench: bitjit runs on the CPU; -ngl %d offloads nothing\n",
                   ngl);
    }
  }
  const std::vector<std::string> models = ModelPaths();

  std::vector<Test> tests;
  std::vector<size_t> model_of;
  std::vector<ModelDescription> descs;
  bool first_row = true;
  auto print_row = [&](const Test& t) {
    const Json row = Fields(t, descs[model_of.back()]);
    if (format == "jsonl") std::printf("%s\n", row.dump().c_str());
    if (format == "json") std::printf("%s%s", first_row ? "[\n" : ",\n", row.dump(2).c_str());
    if (format == "csv") {
      if (first_row) {
        std::string header;
        for (const auto& [key, value] : row.items()) {
          if (!header.empty()) header += ',';
          header += key;
        }
        std::printf("%s\n", header.c_str());
      }
      std::string line;
      for (const auto& item : row.items()) {
        if (!line.empty()) line += ',';
        line += CsvQuoted(item.value());
      }
      std::printf("%s\n", line.c_str());
    }
    first_row = false;
    std::fflush(stdout);
  };
  for (const std::string& path : models) {
    FLAGS_m = path;
    auto model = LoadModelFromFlags();
    descs.push_back(DescribeModel(model->file()));
    const int64_t vocab = model->config().n_vocab;
    int longest = 1;
    for (int p : prompts) longest = std::max(longest, p);
    for (int n : gens) longest = std::max(longest, n);
    for (const auto& [p, n] : pairs) longest = std::max(longest, p + n);
    if (longest > model->config().n_ctx_train) {
      Fail("a test of ", longest, " tokens does not fit the model's context of ",
           model->config().n_ctx_train);
    }
    std::mt19937 rng(1234);
    std::vector<int32_t> tokens(static_cast<size_t>(longest));
    for (auto& id : tokens) id = static_cast<int32_t>(rng() % vocab);
    for (int b : batches)
      for (int ub : ubatches)
        for (int ngl : gpu_layers)
          for (int fa : flash)
            for (int t : threads) {
              const Instance inst{path, b, ub, t, ngl, fa == 1};
              std::vector<std::pair<int, int>> shapes;
              for (int p : prompts)
                if (p > 0) shapes.emplace_back(p, 0);
              for (int n : gens)
                if (n > 0) shapes.emplace_back(0, n);
              for (const auto& pg : pairs) shapes.push_back(pg);
              for (const auto& [p, n] : shapes) {
                Test test{inst, p, n, model->isa_name(), "", {}};
                Measure(*model, &test, tokens);
                model_of.push_back(descs.size() - 1);
                tests.push_back(test);
                if (format != "md") print_row(test);
              }
            }
  }
  if (format == "json") std::printf("%s]\n", first_row ? "[\n" : "\n");
  if (format == "md") PrintMarkdown(tests, descs, model_of);
  return 0;
}

}  // namespace

BITJIT_COMMAND(
    llama_bench, "llama-bench", "llama.cpp's llama-bench: prompt and generation tokens/s",
    "-m MODEL [-p 512] [-n 128] [-pg PP,TG] [-b 2048] [-ub 512] [-t 1,2|1-4] [-r 5] [-fa 0,1] "
    "[-o md|csv|json|jsonl]",
    {"m", "numerics", "isa", "tuning_cache", "lm_head", "ternary_packing", "lb_p", "lb_n", "lb_pg",
     "lb_b", "lb_ub", "lb_t", "lb_ngl", "lb_fa", "lb_o", "r"},
    &RunLlamaBench,
    {{"-m", "m"},
     {"--model", "m"},
     {"-p", "lb_p"},
     {"--n-prompt", "lb_p"},
     {"-n", "lb_n"},
     {"--n-gen", "lb_n"},
     {"-pg", "lb_pg"},
     {"-b", "lb_b"},
     {"--batch-size", "lb_b"},
     {"-ub", "lb_ub"},
     {"--ubatch-size", "lb_ub"},
     {"-t", "lb_t"},
     {"--threads", "lb_t"},
     {"-ngl", "lb_ngl"},
     {"--n-gpu-layers", "lb_ngl"},
     {"-fa", "lb_fa"},
     {"--flash-attn", "lb_fa"},
     {"-o", "lb_o"},
     {"--output", "lb_o"},
     {"-r", "r"},
     {"--repetitions", "r"}},
    {}, RefusedLlamaFlags(), {"m", "lb_pg"});

}  // namespace bitjit::cli
