// `bitjit synth`: writes a random bitnet-b1.58 model in bitnet.cpp's exact layout, for tests
// and benchmarks without downloading the real model.
#include <gflags/gflags.h>

#include <cstdio>
#include <string>

#include "frontend/gguf/gguf_writer.h"
#include "frontend/synth/synthetic_model.h"
#include "ir/base/error.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/progress_bar.h"

namespace bitjit::cli {
namespace {

// synth's flags have llama.cpp-style dashed names ("--n-embd"), which gflags' DEFINE_ macros
// cannot spell (they need C identifiers), so they are registered through gflags' public
// FlagRegisterer. The dimension flags override the preset only when given (see Override).
template <typename T>
struct DashedFlag {
  T value{}, default_value{};
  gflags::FlagRegisterer registerer;
  DashedFlag(const char* name, const char* help, T initial = T{})
      : value(initial),
        default_value(initial),
        registerer(name, help, __FILE__, &value, &default_value) {}
};

DashedFlag<std::string> preset_flag("preset", "tiny (the golden tiny dims) or 2b4t (2B-4T dims)",
                                    "tiny");
DashedFlag<std::string> vocab_from_flag(
    "vocab-from", "copy the tokenizer keys of this GGUF (n_vocab becomes its size)");
DashedFlag<int64_t> n_embd_flag("n-embd",
                                "embedding size, a multiple of 128 (unset: the preset's)");
DashedFlag<int64_t> n_ff_flag("n-ff", "feed-forward size, a multiple of 128 (unset: the preset's)");
DashedFlag<int64_t> n_layer_flag("n-layer", "number of blocks (unset: the preset's)");
DashedFlag<int64_t> n_head_flag("n-head", "attention heads, dividing n-embd (unset: the preset's)");
DashedFlag<int64_t> n_head_kv_flag("n-head-kv", "KV heads, dividing n-head (unset: the preset's)");
DashedFlag<int64_t> n_vocab_flag("n-vocab", "vocabulary size, at least 264 (unset: the preset's)");
DashedFlag<int64_t> n_ctx_flag("n-ctx", "the context_length key (unset: the preset's)");
DashedFlag<double> rope_base_flag("rope-freq-base",
                                  "the rope.freq_base key (unset: the preset's, 500000)", 0.0);

// Applies an integer flag only when it was given on the command line, so that "--n-embd 0"
// is an error rather than "the preset's value".
void Override(const char* name, int64_t value, int64_t* field) {
  gflags::CommandLineFlagInfo info;
  if (gflags::GetCommandLineFlagInfo(name, &info) && !info.is_default) *field = value;
}

int RunSynth(const Args& args) {
  if (!args.positional.empty()) Fail("synth takes no arguments (got '", args.positional[0], "')");
  if (FLAGS_o.empty()) Fail("synth needs an output file: -o OUT.gguf");
  synth::SynthConfig config = synth::Preset(preset_flag.value);
  config.seed = FLAGS_seed;
  config.vocab_from = vocab_from_flag.value;
  if (!config.vocab_from.empty()) config.n_vocab = 0;  // the vocabulary file's size
  Override("n-embd", n_embd_flag.value, &config.n_embd);
  Override("n-ff", n_ff_flag.value, &config.n_ff);
  Override("n-layer", n_layer_flag.value, &config.n_layer);
  Override("n-head", n_head_flag.value, &config.n_head);
  Override("n-head-kv", n_head_kv_flag.value, &config.n_head_kv);
  Override("n-vocab", n_vocab_flag.value, &config.n_vocab);
  Override("n-ctx", n_ctx_flag.value, &config.n_ctx);
  gflags::CommandLineFlagInfo rope_info;
  if (gflags::GetCommandLineFlagInfo("rope-freq-base", &rope_info) && !rope_info.is_default)
    config.rope_base = rope_base_flag.value;
  synth::Validate(config);  // before creating the output file

  gguf::FileSink sink(FLAGS_o);
  ProgressBar bar("synth");
  const synth::SynthResult result = synth::WriteSyntheticModel(
      config, sink, [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); });
  sink.Commit();
  bar.Finish();
  std::printf(
      "wrote %s: %llu bytes, %zu tensors, %zu keys (E%lld F%lld L%lld H%lld KV%lld "
      "vocab %lld ctx %lld, seed %llu)\n",
      FLAGS_o.c_str(), static_cast<unsigned long long>(result.file_size), result.n_tensors,
      result.n_kvs, static_cast<long long>(config.n_embd), static_cast<long long>(config.n_ff),
      static_cast<long long>(config.n_layer), static_cast<long long>(config.n_head),
      static_cast<long long>(config.n_head_kv), static_cast<long long>(result.n_vocab),
      static_cast<long long>(config.n_ctx), static_cast<unsigned long long>(config.seed));
  return 0;
}

}  // namespace

BITJIT_COMMAND(synth, "synth", "write a random bitnet-b1.58 model in bitnet.cpp's layout",
               "-o OUT.gguf [--preset tiny|2b4t] [--seed S] [--n-embd N ...] [--vocab-from V.gguf]",
               {"o", "seed", "preset", "vocab-from", "n-embd", "n-ff", "n-layer", "n-head",
                "n-head-kv", "n-vocab", "n-ctx", "rope-freq-base"},
               RunSynth);

}  // namespace bitjit::cli
