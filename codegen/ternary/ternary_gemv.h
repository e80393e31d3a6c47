// Ternary GEMV: the decode-time matmul (one token at a time), out[r] = sum_k w[r][k] q[k].
// Each token streams the whole row range of weights once, so the goal is to unpack weight
// bytes as fast as memory delivers them (~30 GB/s per core), with as few vector ops per byte
// as possible. Calls with several tokens loop over them.
//
//   VNNI (avx512vnni, avxvnni): "scaled bit pairs". Codes of k-quad j sit in bits 2j..2j+1 of
//     each byte, so (bytes & (3 << 2j)) = 4^j * code. vpdpbusd multiplies that directly
//     (<= 128, still an unsigned byte) into its own accumulator acc_j = 4^j * S_j; the four
//     are combined once per tile as acc_0 + (acc_1 >> 2) + (acc_2 >> 4) + (acc_3 >> 6), exact
//     since acc_j is a multiple of 4^j. Per vector of weights: 4 AND + 4 vpdpbusd, no shifts.
//   1.6 bits (avx512vnni + VBMI): each byte is unpacked by two lookups (ternary_layout.h) into
//     c_0..c_3 as a 2-bit layout byte, then the scaled bit pairs above; and the band byte
//     86 * c_4 (<= 172, still unsigned) goes straight into a fifth accumulator = 86 * S_4,
//     divided exactly once per tile: (acc >> 1) times the inverse of 43 modulo 2^32.
//     Per vector: shift, vpermb, subtract, vpermi2b, then 4 AND + 5 vpdpbusd for 20 k.
//   1.6 bits on AVX2 (no vpermb): each byte's five codes are peeled off arithmetically, three
//     by "subtract d if it fits" (vpminub) and a 16-entry vpshufb on d * c, two by vpshufb
//     on the remainder c_0 + 3 c_1 (EmitBase3DigitsAvx2: 21 ops per 32 bytes), then one
//     vpmaddubsw per plane into one int16 accumulator, widened every 8 blocks.
//   AVX2 / AVX-512BW: one shift per vector (bytes >> 4) and masks 0x03 / 0x0C give the codes
//     of quads 0, 2 and 4x the codes of quads 1, 3; vpmaddubsw turns them into int16 pair
//     sums, added in two int16 accumulators (plain and 4x) for 8 chunks, whose worst case
//     is exactly -32768, then widened with vpmaddwd (the 4x one shifted back, exactly).
#pragma once

#include <string>

#include "codegen/ternary/ternary_kernel_base.h"

namespace bitjit::codegen {

class TernaryGemvKernel : public TernaryKernelBase {
 public:
  // params.tile_tokens is ignored (GEMV handles one token per pass).
  explicit TernaryGemvKernel(const TernaryKernelParams& params);

  // XNNPACK-style name, e.g. "TernaryGemv_32r_avx512vnni_K2560_i32".
  static std::string Name(const TernaryKernelParams& params);

 private:
  void ZeroAccumulators(int nt) override;
  void EmitChunk(int nt, int c, int valid_k) override;
  int ChunkUnroll() const override;
  int FlushPeriod() const override;
  void EmitFlush(int nt) override;
  void EmitReduce(int nt) override;
  Vmm Result(int t, int v) const override;
  Vmm Scratch(int i) const override;

  void EmitChunkVnni(int c, int valid_k);
  void EmitChunkMaddubs(int c, int valid_k);
  void EmitChunkBase3Avx2(int c, int valid_k);

  // VNNI: acc(v, j) = planes * v + j. MADDUBS: acc32(v) = v, acc16(v) = V + v (quads 0, 2),
  // acc16x4(v) = 2V + v (quads 1, 3, which hold 4x their pair sums).
  Vmm Acc(int v, int j) const { return V(planes_ * v + j); }
  Vmm Acc32(int v) const { return V(v); }
  Vmm Acc16(int v) const { return V(vecs_ + v); }
  Vmm Acc16x4(int v) const { return V(2 * vecs_ + v); }
  int first_free_ = 0;  // first register after the accumulators
  int weights_ = 0;     // first weight register
  int lo4_ = 0;         // 1.6 bits: V unpacked c_0..c_3 vectors, then V band vectors
  int q_ = 0;           // broadcast activations
  int tmp_ = 0;         // two temps
  int q_regs_ = 1;      // AVX2 1.6 bits: activation quads broadcast at once (5, or 1)
};

}  // namespace bitjit::codegen
