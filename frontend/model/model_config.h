// Typed hyper-parameters of a bitnet-b1.58 model, read from GGUF keys and checked against the
// tensor table.
#pragma once

#include <cstdint>
#include <string>

#include "frontend/gguf/gguf_file.h"

namespace bitjit {

inline constexpr char kBitnetArch[] = "bitnet-b1.58";
// Falcon3 / Falcon-E / Llama3-8B-1.58 as bitnet.cpp converts them: ternary (I2_S) projections
// in llama's graph (no sub-norms, SiLU-gated FFN, NORM RoPE, untied output).
inline constexpr char kLlamaArch[] = "llama";

struct ModelConfig {
  std::string arch;
  std::string name;
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;  // context_length
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_ff = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;  // n_embd / n_head (= rope.dimension_count)
  float rms_eps = 1e-5f;
  float rope_base = 10000.0f;
  uint32_t file_type = 0;
  uint32_t token_embd_type = 0;  // a gguf::GgmlType id: F16, Q8_0 or Q6_K
  bool has_output = false;       // an output.weight of its own (else tied to token_embd)
  uint32_t output_type = 0;      // its gguf::GgmlType id: F16 or Q8_0
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  bool add_bos = true;

  int64_t n_embd_kv() const { return n_head_kv * head_dim; }
  bool is_llama() const { return arch == kLlamaArch; }

  // Reads the keys of a bitnet-b1.58 or llama file and checks every tensor's presence, type and
  // shape. Throws bitjit::Error ("missing key X", "inconsistent dims: ...", "tensor X has shape
  // ...").
  static ModelConfig FromGguf(const gguf::GgufFile& file);
};

}  // namespace bitjit
