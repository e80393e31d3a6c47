// The key-value pairs of the two GGUF layouts bitnet.cpp's tools write, in their order, shared
// by every writer of such files (bitjit synth, bitjit convert):
//  - bitnet-b1.58: the official 2B-4T file's 24 keys (../shared/spec/FORMAT.md);
//  - llama: what utils/convert-hf-to-gguf-bitnet.py (LlamaModel) and llama-quantize write
//    (../shared/golden-more/README.md), 22 keys with the built-in-style vocabulary.
// The tokenizer keys come from a VocabKeys, placed where each layout has them.
#pragma once

#include <cstdint>
#include <string>

#include "frontend/gguf/gguf_writer.h"

namespace bitjit {

struct ModelKeyDims {
  std::string arch, name;
  int64_t n_vocab = 0, n_ctx = 0, n_embd = 0, n_layer = 0, n_ff = 0, n_head = 0, n_head_kv = 0;
  float rms_eps = 1e-5f;
  double rope_base = 10000.0;
};

class VocabKeys {
 public:
  virtual ~VocabKeys() = default;
  // tokenizer.ggml.add_bos_token (where the layout has it).
  virtual void AddBos(gguf::GgufWriter& w) const = 0;
  // bitnet-b1.58: tokenizer.ggml.model, tokens, scores, token_type, merges, the ids,
  // chat_template.
  virtual void AddBitnetVocab(gguf::GgufWriter& w) const = 0;
  // llama: tokenizer.ggml.model, [pre], tokens, token_type, merges, the ids, add_bos_token,
  // [chat_template] (no scores: the converter's gpt2 path writes none).
  virtual void AddLlamaVocab(gguf::GgufWriter& w) const = 0;
};

// general.file_type: 40 (mostly I2_S) in finished files, 0 (all F32) in the converter's
// intermediate one. quantization_version is written last when asked (llama-quantize adds it).
struct ModelKeyOptions {
  uint32_t file_type = 40;
  bool quantization_version = true;
};

// Throws bitjit::Error for an arch other than kBitnetArch and kLlamaArch.
void AddModelKeys(gguf::GgufWriter& w, const ModelKeyDims& dims, const VocabKeys& vocab,
                  const ModelKeyOptions& options = {});

}  // namespace bitjit
