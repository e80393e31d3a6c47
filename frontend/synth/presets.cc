// The shapes of the models bitnet.cpp runs, for `bitjit synth --preset` (and so for
// `bitjit bench` on families nobody has downloaded). Dimensions, vocabulary sizes, context
// lengths, rope bases and epsilons are those of each model's Hugging Face config.json; the
// layout (arch, tied or untied output) is what bitnet.cpp's setup_env.py makes of it.
#include <string>
#include <vector>

#include "frontend/synth/synthetic_model.h"
#include "ir/base/error.h"

namespace bitjit::synth {
namespace {

struct PresetSpec {
  const char* name;
  const char* model_name;  // general.name
  const char* arch;
  int64_t n_embd, n_ff, n_layer, n_head, n_head_kv, n_vocab, n_ctx;
  double rope_base;
  float rms_eps;
  bool untied_output;
  bool spm_vocab = false;  // a SentencePiece vocabulary, as 1bitLLM's models have
};

constexpr PresetSpec kPresets[] = {
    // The golden `tiny` case, and the golden-more llama-gqa case (Llama3-8B-1.58 in miniature).
    {"tiny", "bitnet-tiny", kBitnetArch, 256, 512, 2, 4, 2, 512, 256, 500000.0, 1e-5f, false},
    {"llama-tiny", "llama-tiny", kLlamaArch, 512, 1536, 2, 4, 2, 768, 256, 500000.0, 1e-5f, true},
    // microsoft/bitnet-b1.58-2B-4T.
    {"2b4t", "bitnet2b", kBitnetArch, 2560, 6912, 30, 20, 5, 128256, 4096, 500000.0, 1e-5f, false},
    // 1bitLLM/bitnet_b1_58-large and -3B: plain multi-head attention, head_dim 96 and 100, the
    // LLaMA SentencePiece vocabulary at config.json's vocab_size of 32002. The
    // 3B's n_ff 8640 is not a multiple of 128, which bitnet.cpp's x86 I2_S kernels need (its
    // ffn_down computes wrong sums there); bitjit handles any K.
    {"bitnet-0.7b", "bitnet_b1_58-large", kBitnetArch, 1536, 4096, 24, 16, 16, 32002, 2048, 10000.0,
     1e-5f, false, true},
    {"bitnet-3b", "bitnet_b1_58-3B", kBitnetArch, 3200, 8640, 26, 32, 32, 32002, 2048, 10000.0,
     1e-5f, false, true},
    // tiiuae/Falcon3-{1,3,7,10}B-*-1.58bit: head_dim 256, rope base 1000042, untied lm_head.
    {"falcon3-1b", "Falcon3-1B-Instruct-1.58bit", kLlamaArch, 2048, 8192, 18, 8, 4, 131072, 8192,
     1000042.0, 1e-6f, true},
    {"falcon3-3b", "Falcon3-3B-Instruct-1.58bit", kLlamaArch, 3072, 9216, 22, 12, 4, 131072, 4096,
     1000042.0, 1e-6f, true},
    {"falcon3-7b", "Falcon3-7B-Instruct-1.58bit", kLlamaArch, 3072, 23040, 28, 12, 4, 131072, 8192,
     1000042.0, 1e-6f, true},
    {"falcon3-10b", "Falcon3-10B-Instruct-1.58bit", kLlamaArch, 3072, 23040, 40, 12, 4, 131072,
     32768, 1000042.0, 1e-6f, true},
    // HF1BitLLM/Llama3-8B-1.58-100B-tokens.
    {"llama3-8b", "Llama3-8B-1.58-100B-tokens", kLlamaArch, 4096, 14336, 32, 32, 8, 128256, 8192,
     500000.0, 1e-5f, true},
};

}  // namespace

SynthConfig Preset(std::string_view preset) {
  for (const PresetSpec& p : kPresets) {
    if (preset != p.name) continue;
    SynthConfig c;
    c.name = p.model_name;
    c.arch = p.arch;
    c.n_embd = p.n_embd;
    c.n_ff = p.n_ff;
    c.n_layer = p.n_layer;
    c.n_head = p.n_head;
    c.n_head_kv = p.n_head_kv;
    c.n_vocab = p.n_vocab;
    c.n_ctx = p.n_ctx;
    c.rope_base = p.rope_base;
    c.rms_eps = p.rms_eps;
    c.untied_output = p.untied_output;
    c.vocab = p.spm_vocab ? SynthConfig::Vocab::kSpm : SynthConfig::Vocab::kBpe;
    return c;
  }
  std::string names;
  for (const PresetSpec& p : kPresets) names += (names.empty() ? "" : ", ") + std::string(p.name);
  Fail("unknown preset '", preset, "' (expected one of ", names, ")");
}

std::vector<std::string> PresetNames() {
  std::vector<std::string> names;
  for (const PresetSpec& p : kPresets) names.emplace_back(p.name);
  return names;
}

}  // namespace bitjit::synth
