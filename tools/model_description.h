// How llama.cpp's programs describe a model file: llama-bench's model_type ("bitnet-b1.58 2B
// I2_S - 2 bpw ternary"), model_size (bytes of tensor data) and model_n_params.
#pragma once

#include <cstdint>
#include <string>

#include "frontend/gguf/gguf_file.h"

namespace bitjit::cli {

struct ModelDescription {
  std::string type;  // architecture, size class, file type
  uint64_t size_bytes = 0;
  uint64_t n_params = 0;
};

ModelDescription DescribeModel(const gguf::GgufFile& file);

}  // namespace bitjit::cli
