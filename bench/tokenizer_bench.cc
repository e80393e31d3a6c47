// Tokenizer throughput on ~1 MB of mixed text (the tokenizer test strings: English, code,
// many scripts, emoji, whitespace runs, special-token text), with each pre-tokenizer.
// Run: build/bench/tokenizer_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "frontend/gguf/gguf_file.h"
#include "frontend/tokenizer/tokenizer.h"

namespace bitjit {
namespace {

const std::string kTokDir = std::string(BITJIT_SHARED_DIR) + "/tokenizer";

// Every test text (tests.jsonl, then fuzz.jsonl), joined by newlines and repeated until the
// corpus reaches `target` bytes.
std::string MixedText(size_t target) {
  std::vector<std::string> texts;
  {
    std::ifstream in(kTokDir + "/tests.jsonl");
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) texts.push_back(nlohmann::json::parse(line).get<std::string>());
    }
  }
  {
    std::ifstream in(kTokDir + "/fuzz.jsonl");
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) texts.push_back(nlohmann::json::parse(line).at("text"));
    }
  }
  std::string out;
  while (out.size() < target) {
    for (const std::string& t : texts) {
      out += t;
      out += '\n';
      if (out.size() >= target) break;
    }
  }
  return out;
}

struct Fixture {
  std::unique_ptr<gguf::GgufFile> file = gguf::GgufFile::Open(kTokDir + "/llama3-vocab.gguf");
  std::unique_ptr<Tokenizer> llama3 = Tokenizer::FromGguf(*file, PreTokenizerKind::kLlama3);
  std::unique_ptr<Tokenizer> fallback = Tokenizer::FromGguf(*file, PreTokenizerKind::kDefault);
  std::string text = MixedText(1 << 20);
};

Fixture& GetFixture() {
  static Fixture fixture;
  return fixture;
}

void BM_EncodeLlama3(benchmark::State& state) {
  Fixture& f = GetFixture();
  size_t n_tokens = 0;
  for (auto _ : state) {
    auto ids = f.llama3->Encode(f.text, false, true);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.text.size()));
  state.counters["tokens"] = static_cast<double>(n_tokens);
}
BENCHMARK(BM_EncodeLlama3)->Unit(benchmark::kMillisecond);

void BM_EncodeFallback(benchmark::State& state) {
  Fixture& f = GetFixture();
  for (auto _ : state) {
    auto ids = f.fallback->Encode(f.text, false, true);
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.text.size()));
}
BENCHMARK(BM_EncodeFallback)->Unit(benchmark::kMillisecond);

void BM_Decode(benchmark::State& state) {
  Fixture& f = GetFixture();
  const std::vector<int32_t> ids = f.llama3->Encode(f.text, false, false);
  for (auto _ : state) {
    std::string text = f.llama3->Decode(ids);
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.text.size()));
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);

void BM_LoadVocabulary(benchmark::State& state) {
  Fixture& f = GetFixture();
  for (auto _ : state) {
    auto tok = Tokenizer::FromGguf(*f.file);
    benchmark::DoNotOptimize(tok.get());
  }
}
BENCHMARK(BM_LoadVocabulary)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace bitjit

BENCHMARK_MAIN();
