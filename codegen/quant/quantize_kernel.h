// BitLinear's per-token activation quantization as a JIT kernel, bit-exact with
// ref::QuantizeRow (../shared/spec/MODEL.md):
//   m = max(1e-5, max_i |x_i|)  (the max is exact in float; compared and divided in double)
//   s = (float)(127.0 / m)
//   q_i = clamp(round_half_even(x_i * s), -128, 127)  (float product, vcvtps2dq under the
//         default MXCSR rounds half to even)
// It also returns sum_i q_i, which the ternary kernels need (dot = sum c*q - sum q), so the
// activations are read twice (max, then quantize) and q never has to be re-read.
#pragma once

#include <cstdint>
#include <string>

#include "codegen/cpu_features.h"
#include "codegen/jit/jit_generator.h"

namespace bitjit::codegen {

struct QuantizeArgs {
  const float* x;  // rows of K floats, contiguous
  int8_t* q;       // rows of K bytes, contiguous
  float* scale;    // per row: s
  int32_t* q_sum;  // per row: sum of q; may be null
  int64_t rows;    // >= 1
};

class QuantizeKernel : public JitGenerator {
 public:
  using Fn = void (*)(const QuantizeArgs*);

  // K is baked into the code; isa: any vector ISA (VNNI adds nothing here: avx512vnni runs
  // the avx512 code, avxvnni the avx2 code). Throws bitjit::Error for kRef or K < 1.
  QuantizeKernel(int64_t k, Isa isa);
  static std::string Name(int64_t k, Isa isa);
  Fn fn() const { return entry<Fn>(); }

 private:
  using Vmm = Xbyak::Xmm;
  void generate() override;
  void EmitMaxAbs();    // -> xmm0: max |x| of the row
  void EmitScale();     // xmm0 -> s in V(kScale) (all lanes) and in [scale]
  void EmitQuantize();  // q and the lane sums in V(kSum)
  void EmitQuantizeVector(int64_t offset, int count);  // count = lanes, or the tail size
  void EmitStoreBytes(const Vmm& v, int64_t offset, int count);
  void EmitHorizontal(const Vmm& v, bool max);  // lane 0 of xmm(v) = max / sum of v's lanes
  Vmm V(int idx) const;
  // The first `count` lanes of [x + offset] (the rest zero) without reading past them.
  void LoadTail(const Vmm& dst, int64_t offset, int count);

  const int64_t k_;
  const bool zmm_;
  const int lanes_;
  Xbyak::Label l_const_;
};

}  // namespace bitjit::codegen
