// Writes safetensors files for tests (Hugging Face checkpoints built in the test), laid out as
// the safetensors library writes them: header JSON padded with spaces to a multiple of 8, the
// tensors' data in the order given.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bitjit::testing {

struct StTensor {
  std::string name, dtype;  // "F32", "BF16", "U8", ...
  std::vector<uint64_t> shape;
  std::vector<uint8_t> data;
};

std::vector<uint8_t> SafetensorsBytes(const std::vector<StTensor>& tensors);
void WriteSafetensors(const std::string& path, const std::vector<StTensor>& tensors);

// Raw bytes of floats as F32 / BF16 (truncated; tests pass values that are exact in BF16).
std::vector<uint8_t> F32Bytes(const std::vector<float>& v);
std::vector<uint8_t> Bf16Bytes(const std::vector<float>& v);

}  // namespace bitjit::testing
