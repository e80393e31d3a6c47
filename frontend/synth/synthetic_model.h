// Random bitnet-b1.58 models in exactly bitnet.cpp's layout: the tensor names, types and order
// and the 24 keys of the official 2B-4T file (../shared/spec/FORMAT.md), with weights drawn and
// ternarized the way BitNet's converter and llama-quantize make them. Models are written as a
// stream, one chunk at a time, so a 2B-parameter file needs only a few MB of memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "frontend/gguf/gguf_writer.h"

namespace bitjit::synth {

struct SynthConfig {
  std::string name = "bitnet-tiny";  // general.name
  int64_t n_embd = 256;
  int64_t n_ff = 512;
  int64_t n_layer = 2;
  int64_t n_head = 4;
  int64_t n_head_kv = 2;
  // With vocab_from set, 0 means "the vocabulary file's size" (any other value must equal it).
  int64_t n_vocab = 512;
  int64_t n_ctx = 256;
  double rope_base = 500000.0;  // rope.freq_base (1bitLLM's bitnet_b1_58 models use 10000)
  uint64_t seed = 0;
  // A GGUF whose tokenizer keys are copied; empty for the built-in byte-level BPE vocabulary.
  std::string vocab_from;
};

// "tiny" (the golden `tiny` dims) or "2b4t" (bitnet-b1.58-2B-4T's dims). Throws bitjit::Error.
SynthConfig Preset(std::string_view preset);

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
