#include "codegen/quant/quantize_kernel.h"

#include <cstddef>
#include <cstring>

#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

// Vector registers.
constexpr int kMax0 = 0;  // 4 max accumulators 0..3
constexpr int kTmp = 4;
constexpr int kScale = 5;
constexpr int kSum = 6;
constexpr int kMinQ = 7;  // int32 -128
constexpr int kMaxQ = 8;  // int32 127
constexpr int kTmp2 = 9;
constexpr int kAbsMask = 10;
constexpr int kHorizontal = 15;

// Constant pool offsets.
constexpr int kConstAbs = 0;         // 16 x 0x7fffffff
constexpr int kConstMinQ = 64;       // 16 x -128
constexpr int kConstMaxQ = 128;      // 16 x 127
constexpr int kConstTailMask = 192;  // 8 x -1, 8 x 0: 8 - n lanes in gives an n-lane mask
constexpr int kConstFloor = 256;     // double 1e-5
constexpr int kConst127 = 264;       // double 127.0

bool IsZmm(Isa isa) {
  return IsAvx512Isa(isa);
}

}  // namespace

std::string QuantizeKernel::Name(int64_t k, Isa isa) {
  return std::string("QuantizeAbsmaxI8_") + (IsZmm(isa) ? "avx512" : "avx2") + "_K" +
         std::to_string(k);
}

QuantizeKernel::QuantizeKernel(int64_t k, Isa isa)
    : JitGenerator(Name(k, isa)), k_(k), zmm_(IsZmm(isa)), lanes_(IsZmm(isa) ? 16 : 8) {
  if (isa == Isa::kRef) Fail("QuantizeKernel needs a vector ISA, not ref");
  if (k < 1 || k > (int64_t{1} << 24)) Fail("QuantizeKernel: K = ", k, " out of range");
  setDefaultJmpNEAR(true);
}

QuantizeKernel::Vmm QuantizeKernel::V(int idx) const {
  if (zmm_) return Xbyak::Zmm(idx);
  return Xbyak::Ymm(idx);
}

// Registers: r8 x row, r9 q row, r10 scale, r11 q_sum (or 0), rcx rows left;
// rsi / rdi walk x / q inside a pass, rdx counts loop iterations, rax is scratch.
void QuantizeKernel::generate() {
  Preamble();
  mov(r8, qword[rdi + offsetof(QuantizeArgs, x)]);
  mov(r9, qword[rdi + offsetof(QuantizeArgs, q)]);
  mov(r10, qword[rdi + offsetof(QuantizeArgs, scale)]);
  mov(r11, qword[rdi + offsetof(QuantizeArgs, q_sum)]);
  mov(rcx, qword[rdi + offsetof(QuantizeArgs, rows)]);
  const Xbyak::Address abs_mask =
      zmm_ ? zword[rip + l_const_ + kConstAbs] : yword[rip + l_const_ + kConstAbs];
  if (zmm_) {
    vmovdqu32(V(kAbsMask), abs_mask);
    vpbroadcastd(V(kMinQ), dword[rip + l_const_ + kConstMinQ]);
    vpbroadcastd(V(kMaxQ), dword[rip + l_const_ + kConstMaxQ]);
  } else {
    vmovdqu(V(kAbsMask), abs_mask);
    vpbroadcastd(V(kMinQ), dword[rip + l_const_ + kConstMinQ]);
    vpbroadcastd(V(kMaxQ), dword[rip + l_const_ + kConstMaxQ]);
  }

  Xbyak::Label l_row, l_no_sum;
  L(l_row);
  EmitMaxAbs();
  EmitScale();
  EmitQuantize();
  EmitHorizontal(V(kSum), /*max=*/false);
  test(r11, r11);
  jz(l_no_sum);
  vmovd(dword[r11], Xbyak::Xmm(kSum));
  add(r11, 4);
  L(l_no_sum);
  add(r8, static_cast<int>(4 * k_));
  add(r9, static_cast<int>(k_));
  add(r10, 4);
  dec(rcx);
  jnz(l_row, T_NEAR);
  Postamble();

  align(64);
  L(l_const_);
  for (int i = 0; i < 16; ++i) dd(0x7fffffff);
  for (int i = 0; i < 16; ++i) dd(static_cast<uint32_t>(-128));
  for (int i = 0; i < 16; ++i) dd(127);
  for (int i = 0; i < 16; ++i) dd(i < 8 ? 0xffffffffu : 0u);
  for (double d : {1e-5, 127.0}) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    dq(bits);
  }
}

void QuantizeKernel::LoadTail(const Vmm& dst, int64_t offset, int count) {
  const Xbyak::RegExp at = rsi + static_cast<int>(offset * 4);
  if (zmm_) {
    mov(eax, (1u << count) - 1);
    kmovw(k1, eax);
    vmovups(dst | k1 | T_z, zword[at]);  // masked-off lanes are neither read nor faulted
  } else {
    vmovdqu(V(kTmp2), yword[rip + l_const_ + kConstTailMask + 4 * (8 - count)]);
    vmaskmovps(dst, V(kTmp2), yword[at]);
  }
}

void QuantizeKernel::EmitHorizontal(const Vmm& v, bool max) {
  const Xbyak::Ymm y(v.getIdx()), h(kHorizontal);
  const Xbyak::Xmm x(v.getIdx()), hx(kHorizontal);
  auto op = [&](const Xbyak::Xmm& a, const Xbyak::Operand& b) {
    if (max) {
      vmaxps(a, a, b);
    } else {
      vpaddd(a, a, b);
    }
  };
  if (zmm_) {
    vextracti64x4(h, Xbyak::Zmm(v.getIdx()), 1);
    op(y, h);
  }
  vextracti128(hx, y, 1);
  op(x, hx);
  vpshufd(hx, x, 0x4e);  // swap 64-bit halves
  op(x, hx);
  vpshufd(hx, x, 0xb1);  // swap neighbours
  op(x, hx);
}

void QuantizeKernel::EmitMaxAbs() {
  for (int i = 0; i < 4; ++i)
    vpxor(Xbyak::Xmm(kMax0 + i), Xbyak::Xmm(kMax0 + i), Xbyak::Xmm(kMax0 + i));
  mov(rsi, r8);
  const int64_t vecs = k_ / lanes_;
  const int tail = static_cast<int>(k_ % lanes_);
  auto max_at = [&](int acc, int64_t offset) {
    const Vmm t = V(kTmp);
    if (zmm_) {
      vpandd(t, V(kAbsMask), zword[rsi + static_cast<int>(offset * 4)]);
    } else {
      vpand(t, V(kAbsMask), yword[rsi + static_cast<int>(offset * 4)]);
    }
    vmaxps(V(kMax0 + acc), V(kMax0 + acc), t);
  };
  if (vecs / 4 > 0) {
    Xbyak::Label l_loop;
    mov(rdx, vecs / 4);
    L(l_loop);
    for (int i = 0; i < 4; ++i) max_at(i, i * lanes_);
    add(rsi, 16 * lanes_);
    dec(rdx);
    jnz(l_loop);
  }
  for (int i = 0; i < vecs % 4; ++i) max_at(i, i * lanes_);
  if (tail > 0) {
    LoadTail(V(kTmp), (vecs % 4) * lanes_, tail);
    if (zmm_) {
      vpandd(V(kTmp), V(kTmp), V(kAbsMask));
    } else {
      vpand(V(kTmp), V(kTmp), V(kAbsMask));
    }
    vmaxps(V(kMax0), V(kMax0), V(kTmp));
  }
  vmaxps(V(kMax0), V(kMax0), V(kMax0 + 1));
  vmaxps(V(kMax0 + 2), V(kMax0 + 2), V(kMax0 + 3));
  vmaxps(V(kMax0), V(kMax0), V(kMax0 + 2));
  EmitHorizontal(V(kMax0), /*max=*/true);
}

void QuantizeKernel::EmitScale() {
  const Xbyak::Xmm m(kMax0), s(kTmp);
  vcvtss2sd(m, m, m);
  vmaxsd(m, m, qword[rip + l_const_ + kConstFloor]);
  vmovsd(s, qword[rip + l_const_ + kConst127]);
  vdivsd(s, s, m);
  vcvtsd2ss(s, s, s);
  vmovss(dword[r10], s);
  vbroadcastss(V(kScale), s);
}

void QuantizeKernel::EmitStoreBytes(const Vmm& v, int64_t offset, int count) {
  const Xbyak::RegExp at = rdi + static_cast<int>(offset);
  if (zmm_) {
    if (count == lanes_) {
      vpmovdb(xword[at], Xbyak::Zmm(v.getIdx()));
    } else {
      vpmovdb(xword[at] | k1, Xbyak::Zmm(v.getIdx()));  // k1 still holds the tail mask
    }
    return;
  }
  // 8 int32 in [-128, 127] -> 8 bytes: the packs work within 128-bit lanes, so bytes 0..3
  // end up in lane 0 and 4..7 in lane 1.
  const Xbyak::Ymm y(v.getIdx());
  const Xbyak::Xmm x(v.getIdx()), x2(kTmp2);
  vpackssdw(y, y, y);
  vpacksswb(y, y, y);
  vextracti128(x2, y, 1);
  vpunpckldq(x, x, x2);
  if (count == 8) {
    vmovq(qword[at], x);
    return;
  }
  vmovq(rax, x);
  int done = 0;
  for (int piece : {4, 2, 1}) {
    if ((count & piece) == 0) continue;
    const Xbyak::RegExp p = rdi + static_cast<int>(offset + done);
    if (piece == 4) mov(dword[p], eax);
    if (piece == 2) mov(word[p], ax);
    if (piece == 1) mov(byte[p], al);
    shr(rax, 8 * piece);
    done += piece;
  }
}

void QuantizeKernel::EmitQuantizeVector(int64_t offset, int count) {
  const Vmm t = V(kTmp);
  if (count == lanes_) {
    vmulps(t, V(kScale),
           zmm_ ? zword[rsi + static_cast<int>(offset * 4)]
                : yword[rsi + static_cast<int>(offset * 4)]);
  } else {
    LoadTail(t, offset, count);  // zero lanes quantize to 0 and add nothing to the sum
    vmulps(t, t, V(kScale));
  }
  vcvtps2dq(t, t);  // MXCSR default: round half to even
  vpmaxsd(t, t, V(kMinQ));
  vpminsd(t, t, V(kMaxQ));
  vpaddd(V(kSum), V(kSum), t);
  EmitStoreBytes(t, offset, count);
}

void QuantizeKernel::EmitQuantize() {
  vpxor(Xbyak::Xmm(kSum), Xbyak::Xmm(kSum), Xbyak::Xmm(kSum));
  mov(rsi, r8);
  mov(rdi, r9);
  const int64_t vecs = k_ / lanes_;
  const int tail = static_cast<int>(k_ % lanes_);
  if (vecs / 2 > 0) {
    Xbyak::Label l_loop;
    mov(rdx, vecs / 2);
    L(l_loop);
    EmitQuantizeVector(0, lanes_);
    EmitQuantizeVector(lanes_, lanes_);
    add(rsi, 8 * lanes_);
    add(rdi, 2 * lanes_);
    dec(rdx);
    jnz(l_loop);
  }
  if (vecs % 2) EmitQuantizeVector(0, lanes_);
  if (tail > 0) EmitQuantizeVector((vecs % 2) * lanes_, tail);
}

}  // namespace bitjit::codegen
