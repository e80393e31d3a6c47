// Ternary GEMM: the prefill matmul, out[t][r] = sum_k w[r][k] q[t][k] for many tokens.
// Each 16-k chunk of a tile is unpacked once into four code vectors ((bytes >> 2j) & 3) and
// then multiplied against up to tile_tokens tokens, so the unpack cost is shared and the
// kernel runs at the multiply units' rate:
//   VNNI (avx512vnni, avxvnni): one vpdpbusd per (token, row vector, k-quad).
//   1.6 bits (avx512vnni + VBMI): two lookups per vector (ternary_layout.h) give c_0..c_3 as a
//     2-bit byte, split as above, and c_4 as a fifth code vector: 5 vpdpbusd per 20 k.
//   1.6 bits on AVX2: the arithmetic unpack of the GEMV (five code vectors per 20 k), then
//     five vpmaddubsw per (token, row vector), summed in int16 and widened once.
//   AVX2 / AVX-512BW: per (token, row vector) the four vpmaddubsw int16 pair sums are added
//     (4 * 512 fits int16) and widened once per chunk with vpmaddwd.
// The row tile's weights (R*K/4 bytes, 27 KB at R=32, K=6912) stay cache resident while every
// token block passes over them.
#pragma once

#include <string>

#include "codegen/ternary/ternary_kernel_base.h"

namespace bitjit::codegen {

class TernaryGemmKernel : public TernaryKernelBase {
 public:
  explicit TernaryGemmKernel(const TernaryKernelParams& params);

  // XNNPACK-style name, e.g. "TernaryGemm_32r8t_avx512vnni_K2560_i32".
  static std::string Name(const TernaryKernelParams& params);

 private:
  void ZeroAccumulators(int nt) override;
  void EmitChunk(int nt, int c, int valid_k) override;
  int ChunkUnroll() const override { return 1; }
  Vmm Result(int t, int v) const override { return V(t * vecs_ + v); }
  Vmm Scratch(int i) const override;
  void EmitChunkBase3Avx2(int nt, int c, int valid_k);

  // Register map after the tile_tokens * V accumulators (base = tile_tokens * V):
  //   codes base..base+3 | weights/q base+4 | int16 sum base+5 | temp base+6 |
  //   then, while registers last: byte mask 0x03, int16 ones
  // 1.6 bits (VNNI, so no int16 sum): code 4 in base+5, then low table half 0 (must fit),
  // mask 0x03, band, top and low half 1 tables.
  // AVX2 1.6 bits: codes 0..4 in base..base+4, q base+5, int16 sum base+6, temp base+7, then
  // the unpack's tables and constants while registers last (a 4 x 2 tile leaves none: tables
  // are loaded into the code register before each lookup).
  int base_ = 0;
  Vmm Code(int j) const { return V(j < 4 ? base_ + j : base_ + 5); }
};

}  // namespace bitjit::codegen
