#include "codegen/ternary/ternary_gemm.h"

#include <algorithm>
#include <string>

namespace bitjit::codegen {

std::string TernaryGemmKernel::Name(const TernaryKernelParams& p) {
  return "TernaryGemm_" + std::to_string(p.tile_rows) + "r" + std::to_string(p.tile_tokens) + "t_" +
         (p.packing == TernaryPacking::k1p6Bit ? "b3_" : "") + std::string(IsaName(p.isa)) + "_K" +
         std::to_string(p.k) + (p.output == TernaryOutput::kF32 ? "_f32" : "_i32");
}

TernaryGemmKernel::TernaryGemmKernel(const TernaryKernelParams& params)
    : TernaryKernelBase(Name(params), params) {
  base_ = p_.tile_tokens * vecs_;
  if (base3_ && !zmm_) {
    CheckRegisterBudget(base_ + 8);
    PlaceConstants(base_ + 8,
                   {TernaryConst::kB3DigitTable, TernaryConst::kB3C0Table, TernaryConst::kB3C1Table,
                    TernaryConst::kInt16Ones, TernaryConst::kB3Sub86, TernaryConst::kB3Sub172,
                    TernaryConst::kB3Sub27, TernaryConst::kB3Sub54, TernaryConst::kB3Sub9,
                    TernaryConst::kB3Sub18});
    return;
  }
  // VNNI needs no int16 sum / temp, but keeps the layout uniform; the budget counts them.
  CheckRegisterBudget(base_ + (base3_ ? 8 : 7));
  if (base3_) {
    PlaceConstants(base_ + 7,
                   {TernaryConst::kBase3Low0, TernaryConst::kMask03, TernaryConst::kBase3Band,
                    TernaryConst::kBase3Top, TernaryConst::kBase3Low1});
  } else if (vnni_) {
    PlaceConstants(base_ + 7, {TernaryConst::kMask03});
  } else {
    PlaceConstants(base_ + 7, {TernaryConst::kMask03, TernaryConst::kInt16Ones});
  }
}

void TernaryGemmKernel::ZeroAccumulators(int nt) {
  for (int t = 0; t < nt; ++t) {
    for (int v = 0; v < vecs_; ++v) Zero(Result(t, v));
  }
  LoadConstants();
}

// The four k-quads of vector v of chunk c, as code bytes (0..2), are computed once and used
// for all nt tokens. Row vectors are done one after the other to keep only 4 code registers.
void TernaryGemmKernel::EmitChunk(int nt, int c, int valid_k) {
  if (base3_ && !zmm_) {
    EmitChunkBase3Avx2(nt, c, valid_k);
    return;
  }
  const Vmm w = V(base_ + 4), q_reg = V(base_ + 4);  // the weights die before q is needed
  const Vmm sum16 = V(base_ + 5), tmp = V(base_ + 6);
  const Xbyak::PreferredEncoding enc = zmm_ ? Xbyak::EvexEncoding : Xbyak::VexEncoding;
  const int quads = Quads(valid_k);

  for (int v = 0; v < vecs_; ++v) {
    Load(w, WeightAddr(c, v));
    // 2-bit byte of quads 0..3: the weights, or their 1.6-bit lookup (c_4 into Code(4)).
    Vmm bits = w;
    if (base3_) {
      EmitBase3Unpack(w, tmp, Code(4), /*top=*/true);
      bits = tmp;
    }
    for (int j = std::min(quads, 4) - 1; j >= 0; --j) {  // Code(0) may be `bits` itself
      if (j > 0) vpsrlw(Code(j), bits, 2 * j);
      const Vmm src = j > 0 ? Code(j) : bits;
      WithConst(TernaryConst::kMask03,
                [&](const Xbyak::Operand& mask) { And(Code(j), src, mask); });
    }
    for (int t = 0; t < nt; ++t) {
      const Vmm acc = Result(t, v);
      for (int j = 0; j < quads; ++j) {
        const int bytes = QuadBytes(valid_k, j);
        const bool embedded = vnni_ && zmm_ && bytes == 4;
        if (!embedded) BroadcastQ(q_reg, t, c, j, bytes);
        if (vnni_) {
          if (embedded) {
            vpdpbusd(acc, Code(j), ptr_b[QExp(t, c, j)], enc);
          } else {
            vpdpbusd(acc, Code(j), q_reg, enc);
          }
        } else if (j == 0) {
          vpmaddubsw(sum16, Code(j), q_reg);
        } else {
          vpmaddubsw(tmp, Code(j), q_reg);
          vpaddw(sum16, sum16, tmp);  // |sum| <= 4 * 512: no int16 overflow
        }
      }
      if (!vnni_) {
        WithConst(TernaryConst::kInt16Ones,
                  [&](const Xbyak::Operand& ones) { vpmaddwd(sum16, sum16, ones); });
        vpaddd(acc, acc, sum16);
      }
    }
  }
}

// AVX2 1.6 bits: the five codes of vector v (EmitBase3DigitsAvx2, its temps being the q, int16
// sum and temp registers, free until the multiplies) serve all nt tokens; per token five
// vpmaddubsw, summed in int16 (|sum| <= 5 * 512), widened once.
void TernaryGemmKernel::EmitChunkBase3Avx2(int nt, int c, int valid_k) {
  const Vmm q_reg = V(base_ + 5), sum16 = V(base_ + 6), tmp = V(base_ + 7);
  auto code = [&](int j) { return V(base_ + j); };
  const int quads = Quads(valid_k);
  for (int v = 0; v < vecs_; ++v) {
    Load(q_reg, WeightAddr(c, v));
    EmitBase3DigitsAvx2(q_reg, sum16, tmp, code, [](int) {});
    for (int t = 0; t < nt; ++t) {
      for (int j = 0; j < quads; ++j) {
        BroadcastQ(q_reg, t, c, j, QuadBytes(valid_k, j));
        if (j == 0) {
          vpmaddubsw(sum16, code(j), q_reg);
        } else {
          vpmaddubsw(tmp, code(j), q_reg);
          vpaddw(sum16, sum16, tmp);
        }
      }
      WithConst(TernaryConst::kInt16Ones,
                [&](const Xbyak::Operand& ones) { vpmaddwd(sum16, sum16, ones); });
      vpaddd(Result(t, v), Result(t, v), sum16);
    }
  }
}

TernaryGemmKernel::Vmm TernaryGemmKernel::Scratch(int i) const {
  return Code(i);
}

}  // namespace bitjit::codegen
