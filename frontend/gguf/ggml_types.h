// The ggml tensor types that occur in GGUF files, and how many bytes a tensor of each takes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace bitjit::gguf {

enum class GgmlType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15,
  kIQ2_XXS = 16, kIQ2_XS = 17, kIQ3_XXS = 18, kIQ1_S = 19, kIQ4_NL = 20, kIQ3_S = 21,
  kIQ2_S = 22, kIQ4_XS = 23, kI8 = 24, kI16 = 25, kI32 = 26, kI64 = 27, kF64 = 28,
  kIQ1_M = 29, kBF16 = 30, kTQ1_0 = 34, kTQ2_0 = 35,
  // Types of the BitNet fork of llama.cpp.
  kI2_S = 36, kI8_S = 37, kTL1 = 38, kTL2 = 39,
};

// Name of a known type ("F16", "I2_S"), or nullopt for an id ggml does not define.
std::optional<std::string_view> GgmlTypeName(uint32_t type);

// Bytes taken by a tensor of `n_elements` whose innermost dimension is `ne0`. Returns nullopt
// when the type has no known size (unknown id, TL1/TL2 lookup-table layouts), when ne0 is not
// a multiple of the type's block, or on overflow. I2_S is n/4 packed bytes + 32 bytes holding
// the per-tensor scale, and needs n to be a multiple of its 128-value block.
std::optional<uint64_t> GgmlTensorBytes(uint32_t type, uint64_t ne0, uint64_t n_elements);

// Values per block (1 for plain types); 0 for unknown ids.
uint32_t GgmlBlockSize(uint32_t type);

}  // namespace bitjit::gguf
