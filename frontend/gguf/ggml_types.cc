#include "frontend/gguf/ggml_types.h"

namespace bitjit::gguf {
namespace {

struct TypeTraits {
  const char* name;
  uint32_t block_size;  // values per block; 0 = size unknown (lookup-table layouts)
  uint32_t block_bytes;
};

// Indexed by ggml type id; ids ggml never assigned (or has retired) have no name.
constexpr TypeTraits kTraits[] = {
    {"F32", 1, 4},        {"F16", 1, 2},        {"Q4_0", 32, 18},     {"Q4_1", 32, 20},
    {nullptr, 0, 0},      {nullptr, 0, 0},      {"Q5_0", 32, 22},     {"Q5_1", 32, 24},
    {"Q8_0", 32, 34},     {"Q8_1", 32, 36},     {"Q2_K", 256, 84},    {"Q3_K", 256, 110},
    {"Q4_K", 256, 144},   {"Q5_K", 256, 176},   {"Q6_K", 256, 210},   {"Q8_K", 256, 292},
    {"IQ2_XXS", 256, 66}, {"IQ2_XS", 256, 74},  {"IQ3_XXS", 256, 98}, {"IQ1_S", 256, 50},
    {"IQ4_NL", 32, 18},   {"IQ3_S", 256, 110},  {"IQ2_S", 256, 82},   {"IQ4_XS", 256, 136},
    {"I8", 1, 1},         {"I16", 1, 2},        {"I32", 1, 4},        {"I64", 1, 8},
    {"F64", 1, 8},        {"IQ1_M", 256, 56},   {"BF16", 1, 2},       {nullptr, 0, 0},
    {nullptr, 0, 0},      {nullptr, 0, 0},      {"TQ1_0", 256, 54},   {"TQ2_0", 256, 66},
    {"I2_S", 128, 32},    {"I8_S", 1, 1},       {"TL1", 0, 0},        {"TL2", 0, 0},
};
constexpr uint32_t kNumTypes = sizeof(kTraits) / sizeof(kTraits[0]);

}  // namespace

std::optional<std::string_view> GgmlTypeName(uint32_t type) {
  if (type >= kNumTypes || kTraits[type].name == nullptr) return std::nullopt;
  return kTraits[type].name;
}

uint32_t GgmlBlockSize(uint32_t type) {
  return type < kNumTypes ? kTraits[type].block_size : 0;
}

std::optional<uint64_t> GgmlTensorBytes(uint32_t type, uint64_t ne0, uint64_t n_elements) {
  if (type >= kNumTypes || kTraits[type].name == nullptr || kTraits[type].block_size == 0) {
    return std::nullopt;
  }
  const TypeTraits& t = kTraits[type];
  if (static_cast<GgmlType>(type) == GgmlType::kI2_S) {
    // Blocks run over the flattened tensor, so only the total must fill whole blocks.
    if (n_elements % t.block_size != 0) return std::nullopt;
    return n_elements / 4 + 32;
  }
  if (ne0 % t.block_size != 0) return std::nullopt;
  const uint64_t blocks = n_elements / t.block_size;
  uint64_t bytes;
  if (__builtin_mul_overflow(blocks, uint64_t{t.block_bytes}, &bytes)) return std::nullopt;
  return bytes;
}

}  // namespace bitjit::gguf
