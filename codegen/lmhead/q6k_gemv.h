// Front door of the Q6_K GEMV (q6k_gemv_kernel.h): the `--lm-head q6_k` lm_head. The input row is
// quantized to Q8_K (ggml's activation format for K-quant tables, q6k::QuantizeRowQ8_K), then
// dotted with every table row in integers per 256-value block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/q6k_gemv_kernel.h"
#include "codegen/lmhead/quantized_gemv.h"

namespace bitjit::codegen {

class Q6KGemv : public QuantizedGemv {
 public:
  // n: row length, a positive multiple of 256. Throws bitjit::Error if the CPU cannot run `isa`.
  Q6KGemv(int64_t n, Isa isa);

  int64_t n() const override { return n_; }
  std::string KernelName() const override { return kernel_ ? kernel_->name() : "ref"; }
  // Bytes of a prepared input row: n/256 Q8_K blocks.
  size_t InputBytes() const override;
  // Quantizes x (n floats) to Q8_K.
  void PrepareInput(const float* x, uint8_t* input) const override;
  // out[v] = x . table[v] for v in [row_begin, row_end), table in ggml's Q6_K rows. The float
  // order is the kernel's (q6k_gemv_kernel.h) on every Isa, kRef included, so all Isas agree
  // bit for bit. Rows may be split across threads.
  void Run(const uint8_t* table, const uint8_t* input, int64_t row_begin, int64_t row_end,
           float* out) const override;

 private:
  int64_t n_;
  Isa isa_;
  std::shared_ptr<const Q6KGemvKernel> kernel_;  // null for kRef
};

}  // namespace bitjit::codegen
