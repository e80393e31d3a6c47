#include "tools/llama_flags.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "ir/base/error.h"
#include "tools/context_size.h"
#include "tools/flags.h"

DECLARE_int32(v);

DEFINE_int32(n_gpu_layers, 0, "layers to offload to a GPU (bitjit runs on the CPU: none)");
DEFINE_bool(flash_attn, false, "flash attention (bitjit has one attention kernel: no change)");
DEFINE_bool(mlock, false, "lock the model in memory (no change in bitjit)");
DEFINE_int32(batch_size, 2048, "prompt tokens per evaluation, at most (with -ub)");
DEFINE_int32(ubatch_size, 512, "prompt tokens per evaluation, at most (with -b)");
DEFINE_bool(log_disable, false, "no timings or notes on stderr");
DEFINE_int64(llama_seed, -1, "random seed (-1 = a random one)");

namespace bitjit::cli {
namespace {

bool Given(const char* flag) {
  return !gflags::GetCommandLineFlagInfoOrDie(flag).is_default;
}

}  // namespace

void NoteLlamaFlags(const std::string& program) {
  if (FLAGS_log_disable) FLAGS_quiet = true;
  // llama.cpp runs a context past the model's training with a warning; bitnet.cpp's scripts
  // pass -c 2048 whatever the model, so the personalities do the same (tools/context_size.h).
  FLAGS_allow_long_context = true;
  if (FLAGS_n_gpu_layers > 0 && !FLAGS_quiet) {
    std::fprintf(stderr, "note: %s: bitjit runs on the CPU; -ngl %d offloads nothing\n",
                 program.c_str(), FLAGS_n_gpu_layers);
  }
  if (FLAGS_v <= 0) return;
  const std::pair<const char*, const char*> inert[] = {
      {"flash_attn", "-fa: bitjit has one attention kernel, results are the same"},
      {"mlock", "--mlock: bitjit does not lock pages; results are the same"},
      {"mmap", "--no-mmap: bitjit copies a plan's weights into memory; results are the same"},
  };
  for (const auto& [flag, why] : inert) {
    if (Given(flag)) std::fprintf(stderr, "note: %s: %s\n", program.c_str(), why);
  }
}

int PromptBatch() {
  if (FLAGS_batch_size < 1) Fail("-b must be at least 1");
  if (FLAGS_ubatch_size < 1) Fail("-ub must be at least 1");
  return std::min(FLAGS_batch_size, FLAGS_ubatch_size);
}

uint64_t SeedFromLlamaFlag() {
  if (FLAGS_llama_seed < -1) Fail("-s must be -1 (random) or a seed of 0 or more");
  if (FLAGS_llama_seed >= 0) return static_cast<uint64_t>(FLAGS_llama_seed);
  std::random_device device;
  return (uint64_t{device()} << 32) | device();
}

std::vector<std::pair<std::string, std::string>> RefusedLlamaFlags() {
  const char* const kSampling = "this sampler is not implemented in bitjit";
  const char* const kKvType = "bitjit's KV cache is F16, as bitnet.cpp's default";
  return {
      {"-ctk", kKvType},
      {"-ctv", kKvType},
      {"-j", "schema-constrained sampling is not implemented in bitjit"},
      {"-l", "logit biases are not implemented in bitjit"},
      {"-md", "speculative decoding is not implemented in bitjit"},
      {"--grammar", "grammar-constrained sampling is not implemented in bitjit"},
      {"--grammar-file", "grammar-constrained sampling is not implemented in bitjit"},
      {"--json-schema", "schema-constrained sampling is not implemented in bitjit"},
      {"--mirostat", kSampling},
      {"--tfs", kSampling},
      {"--typical", kSampling},
      {"--presence-penalty", kSampling},
      {"--frequency-penalty", kSampling},
      {"--dynatemp-range", kSampling},
      {"--logit-bias", "logit biases are not implemented in bitjit"},
      {"--samplers", "bitjit's sampler order is fixed (penalty, top-k, top-p, min-p, temp)"},
      {"--lora", "LoRA adapters are not implemented in bitjit"},
      {"--control-vector", "control vectors are not implemented in bitjit"},
      {"--cache-type-k", kKvType},
      {"--cache-type-v", kKvType},
      {"--rope-scaling", "RoPE scaling is not implemented in bitjit"},
      {"--rope-freq-base", "RoPE overrides are not implemented in bitjit"},
      {"--override-kv", "metadata overrides are not implemented in bitjit"},
      {"--model-draft", "speculative decoding is not implemented in bitjit"},
  };
}

}  // namespace bitjit::cli
