// `bitjit synth`: writes a random ternary model (arch bitnet-b1.58 or llama) in bitnet.cpp's
// exact layout, for tests and benchmarks without downloading the real model.
#include <gflags/gflags.h>

#include <cctype>
#include <cstdio>
#include <initializer_list>
#include <string>

#include "frontend/gguf/gguf_writer.h"
#include "frontend/synth/synthetic_model.h"
#include "ir/base/error.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/progress_bar.h"
#include "tools/q6k_fused_quantize.h"

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

DashedFlag<std::string> preset_flag(
    "preset",
    "the shapes of a model: tiny, llama-tiny (golden tiny / llama-gqa), 2b4t, bitnet-0.7b, "
    "bitnet-3b, falcon3-1b, falcon3-3b, falcon3-7b, falcon3-10b, llama3-8b",
    "tiny");
DashedFlag<std::string> arch_flag("arch", "bitnet-b1.58 or llama (unset: the preset's)");
DashedFlag<std::string> output_flag(
    "output",
    "tied, or untied (output.weight of llama-quantize's type: F16 if n-embd % 256 == 0, else "
    "Q8_0), f16 or q8_0 (untied, that type); arch llama only (unset: the preset's)");
DashedFlag<std::string> token_embd_type_flag(
    "token-embd-type",
    "f16, q8_0 or q6_k (bitnet.cpp's --quant-embd) (unset: llama-quantize's choice)");
DashedFlag<std::string> vocab_from_flag(
    "vocab-from", "copy the tokenizer keys of this GGUF (n_vocab becomes its size)");
DashedFlag<std::string> vocab_flag(
    "vocab",
    "the built-in vocabulary: bpe (GPT-2 byte-level) or spm (sentencepiece, as 1bitLLM's "
    "models) (unset: the preset's; spm for bitnet-0.7b and bitnet-3b)");
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

// Whether a flag was given on the command line (so that "--n-embd 0" is an error rather than
// "the preset's value").
bool Given(const char* name) {
  gflags::CommandLineFlagInfo info;
  return gflags::GetCommandLineFlagInfo(name, &info) && !info.is_default;
}

// Applies an integer flag only when it was given.
void Override(const char* name, int64_t value, int64_t* field) {
  if (Given(name)) *field = value;
}

// "f16" / "q8_0" / "q6_k" (any case) -> the type, among `allowed`.
gguf::GgmlType TypeFlag(const char* flag, const std::string& value,
                        std::initializer_list<gguf::GgmlType> allowed) {
  std::string names;
  for (gguf::GgmlType t : allowed) {
    const std::string_view name = *gguf::GgmlTypeName(static_cast<uint32_t>(t));
    std::string lower(name);
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string given = value;
    for (char& ch : given) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (given == lower) return t;
    names += (names.empty() ? "" : ", ") + lower;
  }
  Fail("--", flag, " '", value, "' is not one of ", names);
}

void ApplyLayoutFlags(synth::SynthConfig& config) {
  using gguf::GgmlType;
  if (Given("arch")) config.arch = arch_flag.value;
  if (Given("output")) {
    const std::string& v = output_flag.value;
    config.untied_output = v != "tied";
    config.output_type.reset();
    if (v != "tied" && v != "untied") {
      config.output_type = TypeFlag("output", v, {GgmlType::kF16, GgmlType::kQ8_0});
    }
  }
  if (Given("token-embd-type")) {
    config.token_embd_type = TypeFlag("token-embd-type", token_embd_type_flag.value,
                                      {GgmlType::kF16, GgmlType::kQ8_0, GgmlType::kQ6_K});
  }
  // The quantizer whose bytes match bitnet.cpp's llama-quantize (fused multiply-adds).
  config.quantize_q6_k = QuantizeRowQ6_KFused;
}

std::string TypeName(gguf::GgmlType t) {
  return std::string(gguf::GgmlTypeName(static_cast<uint32_t>(t)).value_or("?"));
}

int RunSynth(const Args& args) {
  if (!args.positional.empty()) Fail("synth takes no arguments (got '", args.positional[0], "')");
  if (FLAGS_o.empty()) Fail("synth needs an output file: -o OUT.gguf");
  synth::SynthConfig config = synth::Preset(preset_flag.value);
  config.seed = FLAGS_seed;
  config.vocab_from = vocab_from_flag.value;
  if (!config.vocab_from.empty()) config.n_vocab = 0;  // the vocabulary file's size
  if (Given("vocab")) {
    if (!config.vocab_from.empty()) Fail("give --vocab or --vocab-from, not both");
    if (vocab_flag.value == "bpe") {
      config.vocab = synth::SynthConfig::Vocab::kBpe;
    } else if (vocab_flag.value == "spm") {
      config.vocab = synth::SynthConfig::Vocab::kSpm;
    } else {
      Fail("--vocab '", vocab_flag.value, "' is not bpe or spm");
    }
  }
  Override("n-embd", n_embd_flag.value, &config.n_embd);
  Override("n-ff", n_ff_flag.value, &config.n_ff);
  Override("n-layer", n_layer_flag.value, &config.n_layer);
  Override("n-head", n_head_flag.value, &config.n_head);
  Override("n-head-kv", n_head_kv_flag.value, &config.n_head_kv);
  Override("n-vocab", n_vocab_flag.value, &config.n_vocab);
  Override("n-ctx", n_ctx_flag.value, &config.n_ctx);
  if (Given("rope-freq-base")) config.rope_base = rope_base_flag.value;
  ApplyLayoutFlags(config);
  synth::Validate(config);  // before creating the output file

  gguf::FileSink sink(FLAGS_o);
  ProgressBar bar("synth");
  const synth::SynthResult result = synth::WriteSyntheticModel(
      config, sink, [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); });
  sink.Commit();
  bar.Finish();
  std::printf(
      "wrote %s: %llu bytes, %zu tensors, %zu keys (%s E%lld F%lld L%lld H%lld KV%lld "
      "vocab %lld ctx %lld, token_embd %s, output %s, seed %llu)\n",
      FLAGS_o.c_str(), static_cast<unsigned long long>(result.file_size), result.n_tensors,
      result.n_kvs, config.arch.c_str(), static_cast<long long>(config.n_embd),
      static_cast<long long>(config.n_ff), static_cast<long long>(config.n_layer),
      static_cast<long long>(config.n_head), static_cast<long long>(config.n_head_kv),
      static_cast<long long>(result.n_vocab), static_cast<long long>(config.n_ctx),
      TypeName(synth::TokenEmbdType(config)).c_str(),
      synth::OutputType(config) ? TypeName(*synth::OutputType(config)).c_str() : "tied",
      static_cast<unsigned long long>(config.seed));
  return 0;
}

}  // namespace

BITJIT_COMMAND(synth, "synth",
               "write a random ternary model (bitnet-b1.58 or llama) in bitnet.cpp's layout",
               "-o OUT.gguf [--preset NAME] [--arch A] [--output O] [--token-embd-type T] "
               "[--seed S] [--n-embd N ...] [--vocab bpe|spm | --vocab-from V.gguf]",
               {"o", "seed", "preset", "arch", "output", "token-embd-type", "vocab", "vocab-from",
                "n-embd", "n-ff", "n-layer", "n-head", "n-head-kv", "n-vocab", "n-ctx",
                "rope-freq-base"},
               RunSynth);

}  // namespace bitjit::cli
