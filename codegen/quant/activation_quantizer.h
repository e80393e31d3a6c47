// Front door of BitLinear's activation quantization (quantize_kernel.h): x rows -> int8 q, the
// per-row scale s and sum q, ready for TernaryMatmul::RunI32 / RunF32.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "codegen/cpu_features.h"
#include "codegen/quant/quantize_kernel.h"

namespace bitjit::codegen {

class ActivationQuantizer {
 public:
  // Throws bitjit::Error if the CPU cannot run `isa`. kRef runs ref::QuantizeRow.
  ActivationQuantizer(int64_t k, Isa isa);

  int64_t k() const { return k_; }
  // The generated kernel's name ("ref" for kRef).
  std::string KernelName() const;

  // For each of `rows` rows of k floats: q (row-major, k bytes per row), scale[row] = s,
  // and, when q_sum is not null, q_sum[row] = sum of the row's q.
  void Run(const float* x, int64_t rows, int8_t* q, float* scale, int32_t* q_sum = nullptr) const;

 private:
  int64_t k_;
  Isa isa_;
  std::shared_ptr<const QuantizeKernel> kernel_;  // null for kRef
};

}  // namespace bitjit::codegen
