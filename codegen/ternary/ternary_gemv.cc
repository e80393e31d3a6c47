#include "codegen/ternary/ternary_gemv.h"

#include <string>

namespace bitjit::codegen {
namespace {

TernaryKernelParams GemvParams(TernaryKernelParams params) {
  params.tile_tokens = 1;
  return params;
}

}  // namespace

std::string TernaryGemvKernel::Name(const TernaryKernelParams& p) {
  return "TernaryGemv_" + std::to_string(p.tile_rows) + "r_" +
         (p.packing == TernaryPacking::k1p6Bit ? "b3_" : "") + std::string(IsaName(p.isa)) + "_K" +
         std::to_string(p.k) + (p.output == TernaryOutput::kF32 ? "_f32" : "_i32") +
         (p.prefetch_bytes ? "_pf" + std::to_string(p.prefetch_bytes) : "");
}

// Register map (V = vecs_, F = first_free_), then constants while registers last:
//   VNNI:    acc 0..4V-1 | weights F..F+V-1 | 2 temps | q | masks 0x03 0x0C 0x30 0xC0
//   1.6 bit: acc 0..5V-1 | weights | lo4 x V | band x V | q | 2 temps | low table half 0,
//            masks, band table, low table half 1
//   MADDUBS: acc32 0..V-1, acc16 V..2V-1, acc16x4 2V..3V-1 | weights F..F+V-1 |
//            weights >> 4 F+V..F+2V-1 | q | 2 temps | masks 0x03 0x0C, int16 ones
//   AVX2 1.6 bit: acc32 0..V-1, acc16 V..2V-1 | q x 5 (x 1 if 5 do not fit) | weights, 2
//            unpack temps, code | digit, c_0, c_1 tables, then the subtrahends and int16 ones
TernaryGemvKernel::TernaryGemvKernel(const TernaryKernelParams& params)
    : TernaryKernelBase(Name(GemvParams(params)), GemvParams(params)) {
  if (base3_ && !zmm_) {
    // Broadcasting the chunk's five activation quads once serves all V vectors; with V = 4 the
    // accumulators leave room for one.
    first_free_ = 2 * vecs_;
    q_regs_ = first_free_ + 5 + 4 + 3 <= max_vregs() ? 5 : 1;
    q_ = first_free_;
    weights_ = q_ + q_regs_;
    tmp_ = weights_ + 1;  // t, x, then the code register
    CheckRegisterBudget(weights_ + 4);
    PlaceConstants(weights_ + 4,
                   {TernaryConst::kB3DigitTable, TernaryConst::kB3C0Table, TernaryConst::kB3C1Table,
                    TernaryConst::kB3Sub86, TernaryConst::kB3Sub172, TernaryConst::kB3Sub27,
                    TernaryConst::kB3Sub54, TernaryConst::kB3Sub9, TernaryConst::kB3Sub18,
                    TernaryConst::kInt16Ones});
    return;
  }
  first_free_ = vnni_ ? planes_ * vecs_ : 3 * vecs_;
  weights_ = first_free_;
  lo4_ = weights_ + vecs_;
  const int weight_regs = base3_ ? 3 * vecs_ : vnni_ ? vecs_ : 2 * vecs_;
  q_ = weights_ + weight_regs;
  tmp_ = q_ + 1;
  CheckRegisterBudget(tmp_ + (base3_ ? 3 : 2));
  if (base3_) {
    PlaceConstants(tmp_ + 2, {TernaryConst::kBase3Low0, TernaryConst::kMask03,
                              TernaryConst::kMask0C, TernaryConst::kMask30, TernaryConst::kMaskC0,
                              TernaryConst::kBase3Band, TernaryConst::kBase3Low1});
  } else if (vnni_) {
    PlaceConstants(tmp_ + 2, {TernaryConst::kMask03, TernaryConst::kMask0C, TernaryConst::kMask30,
                              TernaryConst::kMaskC0});
  } else {
    PlaceConstants(tmp_ + 2,
                   {TernaryConst::kMask03, TernaryConst::kMask0C, TernaryConst::kInt16Ones});
  }
}

int TernaryGemvKernel::ChunkUnroll() const {
  return vnni_ ? 2 : 8;
}

// int16 pair sums are |c q + c' q'| <= 512. 2 bits: 16 additions per accumulator per 8 chunks
// (the 4x one reaching exactly -32768). AVX2 1.6 bits: one accumulator takes all five planes,
// 40 additions per 8 chunks (64 would reach -32768).
int TernaryGemvKernel::FlushPeriod() const {
  return vnni_ ? 0 : 8;
}

void TernaryGemvKernel::ZeroAccumulators(int /*nt*/) {
  for (int i = 0; i < first_free_; ++i) Zero(V(i));
  LoadConstants();
}

void TernaryGemvKernel::EmitChunk(int /*nt*/, int c, int valid_k) {
  if (base3_ && !zmm_) {
    EmitChunkBase3Avx2(c, valid_k);
  } else if (vnni_) {
    EmitChunkVnni(c, valid_k);
  } else {
    EmitChunkMaddubs(c, valid_k);
  }
}

void TernaryGemvKernel::EmitChunkVnni(int c, int valid_k) {
  const Vmm q_reg = V(q_);
  const Xbyak::PreferredEncoding enc = zmm_ ? Xbyak::EvexEncoding : Xbyak::VexEncoding;
  for (int v = 0; v < vecs_; ++v) Load(V(weights_ + v), WeightAddr(c, v));
  // 1.6 bits: c_0..c_3 go through the 2-bit planes below; the band is plane 4.
  auto lo4 = [&](int v) { return V(base3_ ? lo4_ + v : weights_ + v); };
  auto band = [&](int v) { return V(lo4_ + vecs_ + v); };
  if (base3_) {
    for (int v = 0; v < vecs_; ++v) EmitBase3Unpack(V(weights_ + v), lo4(v), band(v));
  }
  int n = 0;
  for (int j = 0; j < planes_; ++j) {
    const int bytes = QuadBytes(valid_k, j);
    if (bytes == 0) continue;  // padding quads: weights 0, nothing to add
    // zmm takes the 4 activation bytes as an embedded broadcast; VEX needs a register.
    const bool embedded = zmm_ && bytes == 4;
    if (!embedded) BroadcastQ(q_reg, 0, c, j, bytes);
    for (int v = 0; v < vecs_; ++v, ++n) {
      Vmm t = V(tmp_ + n % 2);
      if (j == 4) {
        t = band(v);
      } else {
        WithConst(ByteMask(j), [&](const Xbyak::Operand& mask) { And(t, lo4(v), mask); });
      }
      if (embedded) {
        vpdpbusd(Acc(v, j), t, ptr_b[QExp(0, c, j)], enc);
      } else {
        vpdpbusd(Acc(v, j), t, q_reg, enc);
      }
    }
  }
}

// Codes of quads 0 and 2 are taken unscaled ((w >> 4j') & 3), those of quads 1 and 3 as
// 4 * code ((w >> 4j') & 0xC), which saves two of the three shifts. The scaled pair sums
// (|4 * pair| <= 2048) go to their own int16 accumulator, whose 16 additions per flush
// reach exactly -32768 at worst.
void TernaryGemvKernel::EmitChunkMaddubs(int c, int valid_k) {
  const Vmm q_reg = V(q_);
  int quads = 0;
  while (quads < 4 && QuadBytes(valid_k, quads) > 0) ++quads;
  for (int v = 0; v < vecs_; ++v) {
    Load(V(weights_ + v), WeightAddr(c, v));
    if (quads > 2) vpsrlw(V(weights_ + vecs_ + v), V(weights_ + v), 4);  // quads 2, 3 down
  }
  int n = 0;
  for (int j = 0; j < quads; ++j) {
    BroadcastQ(q_reg, 0, c, j, QuadBytes(valid_k, j));
    for (int v = 0; v < vecs_; ++v, ++n) {
      const Vmm t = V(tmp_ + n % 2);
      const Vmm src = V(weights_ + (j < 2 ? 0 : vecs_) + v);
      // Word shifts leak bits across bytes; the byte masks drop them.
      WithConst(ByteMask(j % 2), [&](const Xbyak::Operand& mask) { And(t, src, mask); });
      vpmaddubsw(t, t, q_reg);  // codes are the unsigned operand, activations the signed one
      const Vmm acc = j % 2 ? Acc16x4(v) : Acc16(v);
      vpaddw(acc, acc, t);
    }
  }
}

// Per vector of 32 bytes (160 weights): the 21-op unpack, then per plane one vpmaddubsw (codes
// unsigned, activations signed) and one int16 add. Planes past a partial block are skipped:
// their codes are 0 and their activation bytes lie past K.
void TernaryGemvKernel::EmitChunkBase3Avx2(int c, int valid_k) {
  const int quads = Quads(valid_k);
  auto q = [&](int j) { return V(q_ + (q_regs_ == 5 ? j : 0)); };
  if (q_regs_ == 5) {
    for (int j = 0; j < quads; ++j) BroadcastQ(q(j), 0, c, j, QuadBytes(valid_k, j));
  }
  const Vmm w = V(weights_), t = V(tmp_), x = V(tmp_ + 1), code = V(tmp_ + 2);
  for (int v = 0; v < vecs_; ++v) {
    Load(w, WeightAddr(c, v));
    EmitBase3DigitsAvx2(
        w, t, x, [&](int) { return code; },
        [&](int j) {
          if (j >= quads) return;
          if (q_regs_ == 1) BroadcastQ(q(j), 0, c, j, QuadBytes(valid_k, j));
          vpmaddubsw(code, code, q(j));
          vpaddw(Acc16(v), Acc16(v), code);
        });
  }
}

void TernaryGemvKernel::EmitFlush(int /*nt*/) {
  const Vmm t = V(tmp_);
  if (base3_ && !zmm_) {
    for (int v = 0; v < vecs_; ++v) {
      WithConst(TernaryConst::kInt16Ones,
                [&](const Xbyak::Operand& ones) { vpmaddwd(t, Acc16(v), ones); });
      vpaddd(Acc32(v), Acc32(v), t);
      Zero(Acc16(v));
    }
    return;
  }
  for (int v = 0; v < vecs_; ++v) {
    for (const bool scaled : {false, true}) {
      const Vmm acc16 = scaled ? Acc16x4(v) : Acc16(v);
      WithConst(TernaryConst::kInt16Ones,
                [&](const Xbyak::Operand& ones) { vpmaddwd(t, acc16, ones); });
      if (scaled) vpsrad(t, t, 2);  // exact: a sum of 4 * x
      vpaddd(Acc32(v), Acc32(v), t);
      Zero(acc16);
    }
  }
}

void TernaryGemvKernel::EmitReduce(int /*nt*/) {
  if (!vnni_) return;
  if (base3_) {
    // acc_4 = 86 * S_4 = 2 * 43 * S_4 exactly (|86 * S_4| < 2^31 for K <= kTernaryMaxK), so
    // S_4 = (acc_4 >> 1) * 43^-1 mod 2^32.
    uint32_t inverse = 1;
    for (int i = 0; i < 5; ++i) inverse *= 2 - (kTernaryBase3Band / 2) * inverse;  // Newton
    static_assert(kTernaryBase3Band % 2 == 0 && kTernaryBase3Band % 4 != 0, "band = 2 * odd");
    const Vmm inv = V(weights_);
    mov(eax, inverse);
    vpbroadcastd(inv, eax);
    for (int v = 0; v < vecs_; ++v) {
      vpsrad(Acc(v, 4), Acc(v, 4), 1);
      vpmulld(Acc(v, 4), Acc(v, 4), inv);
      vpaddd(Acc(v, 0), Acc(v, 0), Acc(v, 4));
    }
  }
  for (int v = 0; v < vecs_; ++v) {
    for (int j = 1; j < 4; ++j) {
      vpsrad(Acc(v, j), Acc(v, j), 2 * j);  // exact: acc_j is 4^j times a sum
      vpaddd(Acc(v, 0), Acc(v, 0), Acc(v, j));
    }
  }
}

TernaryGemvKernel::Vmm TernaryGemvKernel::Result(int /*t*/, int v) const {
  return vnni_ ? Acc(v, 0) : Acc32(v);
}

// After the reduction the weight registers and temps are free.
TernaryGemvKernel::Vmm TernaryGemvKernel::Scratch(int i) const {
  return V(first_free_ + i);
}

}  // namespace bitjit::codegen
