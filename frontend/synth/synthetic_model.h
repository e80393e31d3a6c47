// Random ternary models in exactly bitnet.cpp's layouts, with weights drawn and ternarized the
// way BitNet's converter and llama-quantize make them:
//  - arch bitnet-b1.58: the tensor names, types and order and the 24 keys of the official 2B-4T
//    file (../shared/spec/FORMAT.md), output tied to token_embd;
//  - arch llama (Falcon3, Llama3-8B-1.58 as setup_env.py converts them): the 22 keys and the
//    sorted Hugging Face tensor order of ../shared/golden-more's llama cases, no sub-norms, an
//    untied output.weight or a tied one.
// Models are written as a stream, one chunk at a time, so a 10B-parameter file needs only a few
// MB of memory.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/gguf/gguf_writer.h"
#include "frontend/model/model_config.h"

namespace bitjit::synth {

// Quantizes n floats (n a multiple of 256) into n/256 Q6_K blocks of 210 bytes. The Q6_K
// quantizers live above the frontend (runtime/lm_head, tools/), so the caller supplies one.
using Q6KQuantizer = void (*)(const float* x, int64_t n, uint8_t* blocks);

struct SynthConfig {
  std::string name = "bitnet-tiny";  // general.name
  std::string arch = kBitnetArch;    // kBitnetArch or kLlamaArch
  int64_t n_embd = 256;
  int64_t n_ff = 512;
  int64_t n_layer = 2;
  int64_t n_head = 4;
  int64_t n_head_kv = 2;
  // With vocab_from set, 0 means "the vocabulary file's size" (any other value must equal it).
  int64_t n_vocab = 512;
  int64_t n_ctx = 256;
  double rope_base = 500000.0;  // rope.freq_base (1bitLLM's bitnet_b1_58 models use 10000)
  float rms_eps = 1e-5f;        // attention.layer_norm_rms_epsilon (Falcon3 uses 1e-6)
  // An output.weight of its own (arch llama only; bitnet.cpp ties bitnet-b1.58's output).
  bool untied_output = false;
  // Tensor types; unset = what llama-quantize's I2_S ftype picks: output.weight F16 when
  // n_embd % 256 == 0, else Q8_0; token_embd F16 next to an output.weight, else the output rule.
  // token_embd may be F16, Q8_0 or Q6_K (--token-embedding-type q6_k); output F16 or Q8_0.
  std::optional<gguf::GgmlType> token_embd_type, output_type;
  Q6KQuantizer quantize_q6_k = nullptr;  // needed for a Q6_K token_embd
  uint64_t seed = 0;
  // A GGUF whose tokenizer keys are copied; empty for a built-in vocabulary.
  std::string vocab_from;
  // The built-in vocabulary: GPT-2 byte-level BPE (builtin_vocab.h) or SentencePiece
  // (spm_vocab.h, what 1bitLLM's models have).
  enum class Vocab { kBpe, kSpm };
  Vocab vocab = Vocab::kBpe;
};

// The configs of the named presets (see presets.cc); throws bitjit::Error for another name.
SynthConfig Preset(std::string_view preset);
// The preset names, in the order `bitjit synth --help` lists them.
std::vector<std::string> PresetNames();

// The types the config's token_embd and output.weight get (output: nullopt when tied).
gguf::GgmlType TokenEmbdType(const SynthConfig& config);
std::optional<gguf::GgmlType> OutputType(const SynthConfig& config);

// Throws bitjit::Error naming the first bad option.
void Validate(const SynthConfig& config);

struct SynthResult {
  uint64_t file_size = 0;
  size_t n_tensors = 0;
  size_t n_kvs = 0;
  int64_t n_vocab = 0;
};

// Called after each chunk with the work done so far and the total (arbitrary units).
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

// Validates the config and streams the model into `sink`. Deterministic for a given config.
SynthResult WriteSyntheticModel(const SynthConfig& config, gguf::ByteSink& sink,
                                const ProgressFn& progress = nullptr);

// The BITNET chat template that BitNet's converter stores as tokenizer.chat_template.
extern const char kBitnetChatTemplate[];

}  // namespace bitjit::synth
