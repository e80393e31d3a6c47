// GEMV over an F16 matrix with float accumulation: the tied lm_head of bitnet-b1.58-2B-4T,
// logits[v] = sum_i x[i] * table[v][i], which reads the whole 657 MB token_embd per generated
// token (more than half of decode's memory traffic), so it must stream at memory bandwidth.
//
// Tiles of 8 rows advance together, one accumulator vector per row; x is loaded once per step
// and shared by the 8 rows. Float order (fixed, so results are reproducible, but not the
// reference's sequential order): lane l of a row's accumulator sums i = l, l + L, l + 2L, ...
// with FMA (L = 16 on AVX-512, 8 on AVX2), then the lanes are added pairwise (upper half onto
// lower half until one lane is left).
#pragma once

#include <cstdint>
#include <string>

#include "codegen/cpu_features.h"
#include "codegen/jit/jit_generator.h"

namespace bitjit::codegen {

struct F16GemvArgs {
  const uint16_t* table;  // rows of n IEEE halves
  const float* x;         // n floats
  float* out;             // out[v] for v in [row_begin, row_end)
  int64_t row_begin;
  int64_t row_end;
};

class F16GemvKernel : public JitGenerator {
 public:
  using Fn = void (*)(const F16GemvArgs*);
  static constexpr int kTileRows = 8;

  // n (baked in) must be a multiple of 16: GGUF writers store token_embd as F16 only when
  // n_embd % 256 == 0 (Q8_0 otherwise). isa: any vector ISA (VNNI variants run the plain code).
  F16GemvKernel(int64_t n, Isa isa);
  static std::string Name(int64_t n, Isa isa);
  Fn fn() const { return entry<Fn>(); }

 private:
  using Vmm = Xbyak::Xmm;
  void generate() override;
  void EmitTile(int rows);
  Vmm V(int idx) const;

  const int64_t n_;
  const bool zmm_;
  const int lanes_;
};

}  // namespace bitjit::codegen
