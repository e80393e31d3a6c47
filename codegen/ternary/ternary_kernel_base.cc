#include "codegen/ternary/ternary_kernel_base.h"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "codegen/ternary/ternary_layout.h"
#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

using namespace Xbyak::util;  // NOLINT: register names read like assembly

// Constant pool layout (64-byte rows).
constexpr int kConstByteMask = 0;     // 4 rows: bytes 0x03, 0x0C, 0x30, 0xC0
constexpr int kConstInt16Ones = 256;  // int16 1
constexpr int kConstIota = 320;       // int32 0..15
constexpr int kConstBase3 = 384;      // Base3Tables: band, top, low (2 rows)
constexpr int kConstB3Avx2 = 640;     // kB3Sub86 .. kB3C1Table, one row each

int ConstOffset(TernaryConst c) {
  switch (c) {
    case TernaryConst::kInt16Ones:
      return kConstInt16Ones;
    case TernaryConst::kBase3Band:
      return kConstBase3 + offsetof(Base3Tables, band);
    case TernaryConst::kBase3Top:
      return kConstBase3 + offsetof(Base3Tables, top);
    case TernaryConst::kBase3Low0:
      return kConstBase3 + offsetof(Base3Tables, low);
    case TernaryConst::kBase3Low1:
      return kConstBase3 + offsetof(Base3Tables, low) + 64;
    case TernaryConst::kB3Sub86:
    case TernaryConst::kB3Sub172:
    case TernaryConst::kB3Sub27:
    case TernaryConst::kB3Sub54:
    case TernaryConst::kB3Sub9:
    case TernaryConst::kB3Sub18:
    case TernaryConst::kB3DigitTable:
    case TernaryConst::kB3C0Table:
    case TernaryConst::kB3C1Table:
      return kConstB3Avx2 + 64 * (static_cast<int>(c) - static_cast<int>(TernaryConst::kB3Sub86));
    default:
      return kConstByteMask + 64 * static_cast<int>(c);
  }
}

bool IsZmmIsa(Isa isa) {
  return IsAvx512Isa(isa);
}

}  // namespace

int TernaryLanes(Isa isa) {
  return IsZmmIsa(isa) ? 16 : 8;
}

TernaryKernelBase::TernaryKernelBase(std::string name, const TernaryKernelParams& params)
    : JitGenerator(std::move(name)),
      p_(params),
      zmm_(IsZmmIsa(params.isa)),
      vnni_(VectorIsa(params.isa) == Isa::kAvx512Vnni || params.isa == Isa::kAvxVnni),
      lanes_(TernaryLanes(params.isa)),
      vecs_(params.tile_rows / TernaryLanes(params.isa)),
      chunk_bytes_(4 * params.tile_rows),
      base3_(params.packing == TernaryPacking::k1p6Bit),
      block_k_(TernaryBlockK(params.packing)),
      planes_(base3_ ? 5 : 4) {
  std::fill(std::begin(const_reg_), std::end(const_reg_), -1);
  if (p_.isa == Isa::kRef) Fail("ternary JIT kernels need a vector ISA, not ref");
  if (base3_ && VectorIsa(p_.isa) != Isa::kAvx512Vnni && p_.isa != Isa::kAvx2) {
    Fail("1.6-bit ternary kernels need avx2 or avx512vnni (with VBMI), not ", IsaName(p_.isa));
  }
  if (p_.k < 1 || p_.k > kTernaryMaxK) Fail("ternary kernel K = ", p_.k, " out of range");
  if (p_.tile_rows % lanes_ != 0 || vecs_ < 1 || vecs_ > 4 ||
      (p_.tile_rows & (p_.tile_rows - 1)) != 0) {
    Fail("ternary ", IsaName(p_.isa), " kernels need tile rows = ", lanes_, " x {1, 2, 4}, got ",
         p_.tile_rows);
  }
  if (p_.tile_tokens < 1 || p_.tile_tokens > 16) {
    Fail("ternary kernel token tile ", p_.tile_tokens, " outside [1, 16]");
  }
  CheckPrefetchDistance("ternary kernel", p_.prefetch_bytes);
  setDefaultJmpNEAR(true);  // loop bodies are long; never risk a too-short forward jump
}

TernaryKernelBase::Vmm TernaryKernelBase::V(int idx) const {
  if (zmm_) return Xbyak::Zmm(idx);
  return Xbyak::Ymm(idx);
}

void TernaryKernelBase::CheckRegisterBudget(int needed) const {
  if (needed > max_vregs()) {
    Fail(name(), ": tile needs ", needed, " vector registers, ", IsaName(p_.isa), " has ",
         max_vregs(), " (choose a smaller tile)");
  }
}

Xbyak::Address TernaryKernelBase::WeightAddr(int c, int v) const {
  const int disp = c * chunk_bytes_ + v * lanes_ * 4;
  return zmm_ ? zword[reg_w_ + disp] : yword[reg_w_ + disp];
}

Xbyak::RegExp TernaryKernelBase::QExp(int t, int c, int j) const {
  return reg_q_ + static_cast<int>(t * p_.k + c * block_k_ + 4 * j);
}

int TernaryKernelBase::QuadBytes(int valid_k, int j) {
  return std::clamp(valid_k - 4 * j, 0, 4);
}

int TernaryKernelBase::Quads(int valid_k) const {
  int quads = 0;
  while (quads < planes_ && QuadBytes(valid_k, quads) > 0) ++quads;
  return quads;
}

// byte >> 2 (a word shift: bits 6-7 of each byte take the neighbour's bits, which vpermb's
// 6-bit index ignores) picks the band; byte - band is 0..80, vpermi2b's 7-bit index.
void TernaryKernelBase::EmitBase3Unpack(const Vmm& w, const Vmm& lo4, const Vmm& band, bool top) {
  const int low0 = const_reg_[static_cast<int>(TernaryConst::kBase3Low0)];
  if (low0 < 0) Fail(name(), ": the 1.6-bit low table needs a register");
  vpsrlw(band, w, 2);
  if (top) {
    // c_4 for the GEMM; the band for the subtraction comes from the band table too.
    WithConst(TernaryConst::kBase3Band, [&](const Xbyak::Operand& t) { vpermb(lo4, band, t); });
    WithConst(TernaryConst::kBase3Top, [&](const Xbyak::Operand& t) { vpermb(band, band, t); });
    vpsubb(lo4, w, lo4);
  } else {
    WithConst(TernaryConst::kBase3Band, [&](const Xbyak::Operand& t) { vpermb(band, band, t); });
    vpsubb(lo4, w, band);
  }
  WithConst(TernaryConst::kBase3Low1, [&](const Xbyak::Operand& t) { vpermi2b(lo4, V(low0), t); });
}

void TernaryKernelBase::Base3Lookup(TernaryConst table, const Vmm& dst, const Vmm& index) {
  const int reg = const_reg_[static_cast<int>(table)];
  if (reg >= 0) {
    vpshufb(dst, V(reg), index);
    return;
  }
  // vpshufb's table operand must be a register: the destination holds it for the lookup.
  Load(dst, ConstAddr(table));
  vpshufb(dst, dst, index);
}

// Without vpermb a 243-entry lookup is many vpshufb, so the digits are peeled off arithmetically
// instead, from the top: "subtract d if it fits" is min_u8(x, x - d), since x - d wraps above x
// exactly when x < d. For a digit c in 0..2 of weight d, min(x, x - d, x - 2d) = x - d c, and
// x - (x - d c) = d c. Weights 86 (the band; then r = b - 86 c_4 in 0..80), 27 (r mod 27 in
// 0..26), 9 (leaves c_0 + 3 c_1 in 0..8). The low nibbles of d c (43 c_4 = (86 c_4) >> 1,
// 27 c_3, 9 c_2: 0 -> 0; 0x2B, 0x1B, 0x09 -> 1; 0x56, 0x36, 0x12 -> 2) are distinct and every
// d c < 128, so one 16-entry vpshufb table gives all three codes; two more give c_0, c_1.
void TernaryKernelBase::EmitBase3DigitsAvx2(const Vmm& w, const Vmm& t, const Vmm& x,
                                            const std::function<Vmm(int)>& code,
                                            const std::function<void(int)>& use) {
  auto sub = [&](const Vmm& dst, const Vmm& a, TernaryConst d) {
    WithConst(d, [&](const Xbyak::Operand& op) { vpsubb(dst, a, op); });
  };
  // Leaves src mod 3d in dst (src < 3d) and d * digit in t.
  auto peel = [&](const Vmm& dst, const Vmm& src, TernaryConst d, TernaryConst d2) {
    sub(t, src, d);
    vpminub(dst, src, t);
    sub(t, src, d2);
    vpminub(dst, dst, t);
    vpsubb(t, src, dst);
  };
  peel(x, w, TernaryConst::kB3Sub86, TernaryConst::kB3Sub172);  // x = r, t = 86 c_4
  // 86 c_4 is even in every byte, so the word shift moves no bit across bytes.
  vpsrlw(t, t, 1);
  Base3Lookup(TernaryConst::kB3DigitTable, code(4), t);
  use(4);
  peel(w, x, TernaryConst::kB3Sub27, TernaryConst::kB3Sub54);  // w = r mod 27, t = 27 c_3
  Base3Lookup(TernaryConst::kB3DigitTable, code(3), t);
  use(3);
  peel(x, w, TernaryConst::kB3Sub9, TernaryConst::kB3Sub18);  // x = c_0 + 3 c_1, t = 9 c_2
  Base3Lookup(TernaryConst::kB3DigitTable, code(2), t);
  use(2);
  Base3Lookup(TernaryConst::kB3C0Table, code(0), x);
  use(0);
  Base3Lookup(TernaryConst::kB3C1Table, code(1), x);
  use(1);
}

void TernaryKernelBase::BroadcastQ(const Vmm& dst, int t, int c, int j, int bytes) {
  const Xbyak::RegExp at = QExp(t, c, j);
  if (bytes == 4) {
    vpbroadcastd(dst, dword[at]);
    return;
  }
  // The last quad of a K that is not a multiple of 4: assemble the real bytes in eax (the
  // rest zero) so that nothing past the end of the activation row is read.
  switch (bytes) {
    case 1:
      movzx(eax, byte[at]);
      break;
    case 2:
      movzx(eax, word[at]);
      break;
    case 3:
      movzx(eax, word[at]);
      movzx(edx, byte[at + 2]);
      shl(edx, 16);
      or_(eax, edx);
      break;
    default:
      Fail("BroadcastQ of ", bytes, " bytes");
  }
  const Xbyak::Xmm x(dst.getIdx());
  vmovd(x, eax);
  vpbroadcastd(dst, x);
}

void TernaryKernelBase::Zero(const Vmm& v) {
  if (zmm_) {
    vpxord(v, v, v);
  } else {
    vpxor(v, v, v);
  }
}

void TernaryKernelBase::And(const Vmm& dst, const Vmm& a, const Xbyak::Operand& b) {
  if (zmm_) {
    vpandd(dst, a, b);
  } else {
    vpand(dst, a, b);
  }
}

void TernaryKernelBase::Load(const Vmm& dst, const Xbyak::Address& src) {
  if (zmm_) {
    vmovdqu32(dst, src);
  } else {
    vmovdqu(dst, src);
  }
}

void TernaryKernelBase::Prefetch(int c) {
  if (p_.prefetch_bytes == 0) return;
  PrefetchLines(reg_w_, c * chunk_bytes_ + p_.prefetch_bytes, chunk_bytes_);
}

void TernaryKernelBase::PlaceConstants(int first, std::initializer_list<TernaryConst> wanted) {
  for (TernaryConst c : wanted) {
    if (first < max_vregs()) const_reg_[static_cast<int>(c)] = first++;
  }
}

void TernaryKernelBase::LoadConstants() {
  for (int c = 0; c < static_cast<int>(TernaryConst::kCount); ++c) {
    if (const_reg_[c] >= 0) Load(V(const_reg_[c]), ConstAddr(static_cast<TernaryConst>(c)));
  }
}

Xbyak::Address TernaryKernelBase::ConstAddr(TernaryConst c) {
  const int off = ConstOffset(c);
  return zmm_ ? zword[rip + l_const_ + off] : yword[rip + l_const_ + off];
}

// Layout of the generated function:
//   for each tile covering [row_begin, row_end):
//     for each block of tile_tokens tokens (then one block of the remaining tokens):
//       zero accumulators; K loop over the tile's chunks; reduce; masked stores
void TernaryKernelBase::generate() {
  Preamble();
  const int log2_rows = __builtin_ctz(static_cast<unsigned>(p_.tile_rows));
  const int64_t tile_bytes =
      static_cast<int64_t>(chunk_bytes_) * ((p_.k + block_k_ - 1) / block_k_);
  if (tile_bytes > INT32_MAX / 2) Fail("ternary kernel tile too large");

  // First tile: reg_tile_row = row_begin rounded down to R, reg_w_tile = its weights.
  mov(eax, dword[reg_args_ + offsetof(TernaryKernelArgs, row_begin)]);
  shr(eax, log2_rows);
  mov(reg_tile_row_.cvt32(), eax);
  shl(reg_tile_row_.cvt32(), log2_rows);
  imul(rax, rax, static_cast<int>(tile_bytes));
  add(rax, qword[reg_args_ + offsetof(TernaryKernelArgs, weights)]);
  mov(reg_w_tile_, rax);

  Xbyak::Label l_tile, l_next_tile, l_done, l_block, l_tail;
  L(l_tile);
  cmp(reg_tile_row_.cvt32(), dword[reg_args_ + offsetof(TernaryKernelArgs, row_end)]);
  jge(l_done);
  mov(reg_q_blk_, qword[reg_args_ + offsetof(TernaryKernelArgs, q)]);
  mov(reg_out_blk_, qword[reg_args_ + offsetof(TernaryKernelArgs, out)]);
  lea(reg_out_blk_, ptr[reg_out_blk_ + reg_tile_row_ * 4]);
  mov(reg_tokens_, qword[reg_args_ + offsetof(TernaryKernelArgs, n_tokens)]);
  mov(reg_q_sum_, qword[reg_args_ + offsetof(TernaryKernelArgs, q_sum)]);
  mov(reg_q_scale_, qword[reg_args_ + offsetof(TernaryKernelArgs, q_scale)]);

  // Full token blocks. The tile's weights (R*K/4 bytes) stay in L1/L2 across blocks.
  const int tt = p_.tile_tokens;
  L(l_block);
  cmp(reg_tokens_, tt);
  jl(l_tail);
  EmitTokenBlock(tt);
  add(reg_q_blk_, static_cast<int>(tt * p_.k));
  mov(rax, qword[reg_args_ + offsetof(TernaryKernelArgs, ld_out)]);
  imul(rax, rax, tt * 4);
  add(reg_out_blk_, rax);
  add(reg_q_sum_, tt * 4);
  add(reg_q_scale_, tt * 4);
  sub(reg_tokens_, tt);
  jmp(l_block);

  // The remaining 1 .. tt-1 tokens: one specialised block per count.
  L(l_tail);
  for (int nt = tt - 1; nt >= 1; --nt) {
    Xbyak::Label l_other;
    cmp(reg_tokens_, nt);
    jne(l_other);
    EmitTokenBlock(nt);
    jmp(l_next_tile);
    L(l_other);
  }

  L(l_next_tile);
  add(reg_w_tile_, static_cast<int>(tile_bytes));
  add(reg_tile_row_.cvt32(), p_.tile_rows);
  jmp(l_tile);

  L(l_done);
  Postamble();
  EmitConstants();
}

void TernaryKernelBase::EmitTokenBlock(int nt) {
  ZeroAccumulators(nt);
  mov(reg_w_, reg_w_tile_);
  mov(reg_q_, reg_q_blk_);
  EmitKLoop(nt);
  EmitReduce(nt);
  EmitStores(nt);
}

// Chunks whose k are all real run in a loop unrolled by ChunkUnroll(); the partial last
// chunk (K % block_k != 0) is generated separately so that it reads no activation past K.
void TernaryKernelBase::EmitKLoop(int nt) {
  const int unroll = ChunkUnroll();
  const int flush = FlushPeriod();
  if (flush > 0 && unroll > flush) Fail(name(), ": unroll exceeds the flush period");
  const int64_t full_chunks = p_.k / block_k_;
  const int tail_k = static_cast<int>(p_.k % block_k_);
  const int64_t iters = full_chunks / unroll;
  const int rem = static_cast<int>(full_chunks % unroll);

  if (iters > 0) {
    Xbyak::Label l_loop;
    if (iters > 1) mov(reg_cnt_, iters);
    L(l_loop);
    for (int c = 0; c < unroll; ++c) {
      Prefetch(c);
      EmitChunk(nt, c, block_k_);
    }
    if (flush > 0) EmitFlush(nt);  // unroll <= flush chunks since the last flush
    add(reg_w_, unroll * chunk_bytes_);
    add(reg_q_, unroll * block_k_);
    if (iters > 1) {
      dec(reg_cnt_);
      jnz(l_loop);
    }
  }
  // rem + 1 <= unroll <= flush chunks after the last flush.
  for (int c = 0; c < rem; ++c) EmitChunk(nt, c, block_k_);
  if (tail_k > 0) EmitChunk(nt, rem, tail_k);
  if (flush > 0 && (rem > 0 || tail_k > 0)) EmitFlush(nt);
}

// AVX-512: k-mask of the lanes of vector v whose rows lie in [row_begin, row_end):
// bits [lo, hi) with lo, hi = clamp(row_begin / row_end - first row of v, 0, L).
void TernaryKernelBase::EmitZmmRowMask(int v, const Xbyak::Opmask& k) {
  auto clamp_lanes = [&](const Xbyak::Reg32& r) {
    mov(ecx, 0);
    cmp(r, 0);
    cmovl(r, ecx);
    mov(ecx, lanes_);
    cmp(r, ecx);
    cmovg(r, ecx);
  };
  mov(eax, dword[reg_args_ + offsetof(TernaryKernelArgs, row_begin)]);
  sub(eax, reg_tile_row_.cvt32());
  sub(eax, v * lanes_);
  clamp_lanes(eax);
  mov(edx, dword[reg_args_ + offsetof(TernaryKernelArgs, row_end)]);
  sub(edx, reg_tile_row_.cvt32());
  sub(edx, v * lanes_);
  clamp_lanes(edx);
  mov(ecx, 1);
  shlx(edx, ecx, edx);
  shlx(eax, ecx, eax);
  sub(edx, eax);
  kmovw(k, edx);
}

// AVX2: the same mask as a vector of all-ones / zero dwords, for vpmaskmovd.
void TernaryKernelBase::EmitYmmRowMask(int v, const Vmm& mask, const Vmm& t1, const Vmm& t2) {
  lea(eax, ptr[reg_tile_row_ + v * lanes_]);
  vmovd(Xbyak::Xmm(t1.getIdx()), eax);
  vpbroadcastd(t1, Xbyak::Xmm(t1.getIdx()));
  vpaddd(t1, t1, yword[rip + l_const_ + kConstIota]);  // row of each lane
  vpbroadcastd(mask, dword[reg_args_ + offsetof(TernaryKernelArgs, row_end)]);
  vpcmpgtd(mask, mask, t1);  // row_end > row
  vpbroadcastd(t2, dword[reg_args_ + offsetof(TernaryKernelArgs, row_begin)]);
  vpcmpgtd(t2, t2, t1);  // row_begin > row
  vpandn(mask, t2, mask);
}

// res holds sum c*q of token t; turn it into the output value.
void TernaryKernelBase::EmitEpilogue(int t, const Vmm& res, const Vmm& tmp) {
  const Xbyak::RegExp q_sum = reg_q_sum_ + 4 * t;
  if (p_.output == TernaryOutput::kI32) {
    if (zmm_) {
      vpsubd(res, res, ptr_b[q_sum]);
    } else {
      vpbroadcastd(tmp, dword[q_sum]);
      vpsubd(res, res, tmp);
    }
    return;
  }
  // ((float)sum_cq - (float)q_sum) / s * scale: bitnet.cpp's order, each step rounded to
  // float, so the result is bit-identical to the scalar formula.
  const Xbyak::RegExp s = reg_q_scale_ + 4 * t;
  const Xbyak::RegExp scale =
      reg_args_ + static_cast<int>(offsetof(TernaryKernelArgs, weight_scale));
  vcvtdq2ps(res, res);
  if (zmm_) {
    vcvtdq2ps(tmp, ptr_b[q_sum]);
    vsubps(res, res, tmp);
    vdivps(res, res, ptr_b[s]);
    vmulps(res, res, ptr_b[scale]);
  } else {
    vpbroadcastd(tmp, dword[q_sum]);
    vcvtdq2ps(tmp, tmp);
    vsubps(res, res, tmp);
    vbroadcastss(tmp, dword[s]);
    vdivps(res, res, tmp);
    vbroadcastss(tmp, dword[scale]);
    vmulps(res, res, tmp);
  }
}

void TernaryKernelBase::EmitStores(int nt) {
  if (zmm_) {
    for (int v = 0; v < vecs_; ++v) EmitZmmRowMask(v, Xbyak::Opmask(v + 1));
  }
  mov(rdx, qword[reg_args_ + offsetof(TernaryKernelArgs, ld_out)]);
  shl(rdx, 2);
  const bool f32 = p_.output == TernaryOutput::kF32;
  for (int v = 0; v < vecs_; ++v) {
    const Vmm mask = Scratch(0), tmp = Scratch(1);
    if (!zmm_) EmitYmmRowMask(v, mask, Scratch(1), Scratch(2));
    mov(reg_out_, reg_out_blk_);
    for (int t = 0; t < nt; ++t) {
      const Vmm res = Result(t, v);
      EmitEpilogue(t, res, tmp);
      const Xbyak::RegExp at = reg_out_ + v * lanes_ * 4;
      if (zmm_) {
        const Xbyak::Opmask k(v + 1);
        if (f32) {
          vmovups(zword[at] | k, res);
        } else {
          vmovdqu32(zword[at] | k, res);
        }
      } else if (f32) {
        vmaskmovps(yword[at], mask, res);
      } else {
        vpmaskmovd(yword[at], mask, res);
      }
      if (t + 1 < nt) add(reg_out_, rdx);
    }
  }
}

void TernaryKernelBase::EmitConstants() {
  align(64);
  L(l_const_);
  for (int j = 0; j < 4; ++j) {
    for (int i = 0; i < 64; ++i) db(0x03 << (2 * j));
  }
  for (int i = 0; i < 32; ++i) dw(1);
  for (int i = 0; i < 16; ++i) dd(i);
  static_assert(sizeof(Base3Tables) == 256, "the pool's base-3 rows");
  const auto* tables = reinterpret_cast<const uint8_t*>(&TernaryBase3Tables());
  for (size_t i = 0; i < sizeof(Base3Tables); ++i) db(tables[i]);
  // AVX2 1.6-bit rows (EmitBase3DigitsAvx2): subtrahends, then 16-byte tables repeated (vpshufb
  // looks up within each 128-bit lane).
  for (const int d : {86, 172, 27, 54, 9, 18}) {
    for (int i = 0; i < 64; ++i) db(static_cast<uint8_t>(d));
  }
  uint8_t digit[16] = {}, c0[16] = {}, c1[16] = {};
  for (const int d : {43, 27, 9}) {
    for (int c = 1; c <= 2; ++c) digit[(d * c) & 15] = static_cast<uint8_t>(c);
  }
  for (int v = 0; v < 9; ++v) {
    c0[v] = static_cast<uint8_t>(v % 3);
    c1[v] = static_cast<uint8_t>(v / 3);
  }
  for (const uint8_t* table : {digit, c0, c1}) {
    for (int i = 0; i < 64; ++i) db(table[i % 16]);
  }
}

}  // namespace bitjit::codegen
