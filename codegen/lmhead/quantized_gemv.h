// What the quantized lm_head GEMVs (q8_0_gemv.h, q6k_gemv.h) have in common, so that the
// runtime holds one of them without knowing which: quantize the input row once, then dot it
// with any range of table rows (rows may be split across threads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace bitjit::codegen {

class QuantizedGemv {
 public:
  virtual ~QuantizedGemv() = default;
  virtual int64_t n() const = 0;
  // The generated kernel's name ("ref" for kRef).
  virtual std::string KernelName() const = 0;
  // Bytes of a prepared input row (PrepareInput's output; keep it 64-byte aligned).
  virtual size_t InputBytes() const = 0;
  // Quantizes x (n floats) into the format the table's rows are dotted with.
  virtual void PrepareInput(const float* x, uint8_t* input) const = 0;
  // out[v] = x . table[v] for v in [row_begin, row_end); the float order is the kernel's on
  // every Isa, kRef included, so all Isas agree bit for bit.
  virtual void Run(const uint8_t* table, const uint8_t* input, int64_t row_begin, int64_t row_end,
                   float* out) const = 0;
};

}  // namespace bitjit::codegen
