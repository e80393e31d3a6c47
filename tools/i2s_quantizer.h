// Writes an I2_S model from an F32 / F16 / BF16 GGUF exactly as bitnet.cpp's llama-quantize
// (`llama-quantize [--token-embedding-type T] IN OUT I2_S 1`) writes it, byte for byte:
// the same keys in the same order (general.file_type set to I2_S's 40,
// general.quantization_version 2 added), the same tensors in the same order, 2D weights in
// I2_S, output.weight in F16 (Q8_0 when n_embd % 256 != 0), token_embd.weight in F16 or the
// --token-embedding-type, the rest copied.
#pragma once

#include <string>

#include "frontend/gguf/ggml_types.h"

namespace bitjit::cli {

struct QuantizeSummary {
  int n_quantized = 0, n_copied = 0;
  uint64_t in_bytes = 0, out_bytes = 0;  // tensor data
};

// Throws bitjit::Error on an unreadable source, a tensor type it cannot read, or a shape
// I2_S cannot hold (counts not a multiple of 128).
QuantizeSummary QuantizeToI2S(const std::string& in_path, const std::string& out_path,
                              gguf::GgmlType token_embedding_type);

// --token-embedding-type's value: f16, q8_0 or q6_k (any case).
gguf::GgmlType ParseTokenEmbeddingType(const std::string& name);

// One line on stderr (unless --quiet): what was written.
void PrintQuantizeSummary(const std::string& out_path, const QuantizeSummary& summary);

}  // namespace bitjit::cli
