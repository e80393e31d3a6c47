#include "codegen/lmhead/f16_gemv_kernel.h"

#include <cstddef>

#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

bool IsZmm(Isa isa) {
  return isa == Isa::kAvx512 || isa == Isa::kAvx512Vnni;
}

// Registers: accumulators 0..7, x 8..9, weights 10..11, horizontal temp 12.
constexpr int kX = 8;
constexpr int kW = 10;
constexpr int kHorizontal = 12;
constexpr int kUnroll = 2;  // steps of L elements per loop iteration

}  // namespace

std::string F16GemvKernel::Name(int64_t n, Isa isa) {
  return std::string("F16Gemv_8r_") + (IsZmm(isa) ? "avx512" : "avx2") + "_N" + std::to_string(n);
}

F16GemvKernel::F16GemvKernel(int64_t n, Isa isa)
    : JitGenerator(Name(n, isa)), n_(n), zmm_(IsZmm(isa)), lanes_(IsZmm(isa) ? 16 : 8) {
  if (isa == Isa::kRef) Fail("F16GemvKernel needs a vector ISA, not ref");
  if (n < 16 || n % 16 != 0 || n > (int64_t{1} << 24)) {
    Fail("F16 GEMV: row length ", n, " must be a positive multiple of 16");
  }
  setDefaultJmpNEAR(true);
}

F16GemvKernel::Vmm F16GemvKernel::V(int idx) const {
  if (zmm_) return Xbyak::Zmm(idx);
  return Xbyak::Ymm(idx);
}

// Registers: r8 table row of the tile, r9 out of the tile, rcx rows left, rsi / rdx walk the
// table / x inside a tile, rax loop counter.
void F16GemvKernel::generate() {
  Preamble();
  const int64_t row_bytes = 2 * n_;
  mov(rax, qword[rdi + offsetof(F16GemvArgs, row_begin)]);
  mov(rcx, qword[rdi + offsetof(F16GemvArgs, row_end)]);
  sub(rcx, rax);
  mov(r9, qword[rdi + offsetof(F16GemvArgs, out)]);
  lea(r9, ptr[r9 + rax * 4]);
  imul(rax, rax, static_cast<int>(row_bytes));
  add(rax, qword[rdi + offsetof(F16GemvArgs, table)]);
  mov(r8, rax);
  mov(r10, qword[rdi + offsetof(F16GemvArgs, x)]);

  Xbyak::Label l_tile, l_tail, l_done;
  L(l_tile);
  cmp(rcx, kTileRows);
  jl(l_tail);
  EmitTile(kTileRows);
  add(r8, static_cast<int>(kTileRows * row_bytes));
  add(r9, kTileRows * 4);
  sub(rcx, kTileRows);
  jmp(l_tile);
  L(l_tail);
  for (int rows = kTileRows - 1; rows >= 1; --rows) {
    Xbyak::Label l_other;
    cmp(rcx, rows);
    jne(l_other);
    EmitTile(rows);
    jmp(l_done);
    L(l_other);
  }
  L(l_done);
  Postamble();
}

void F16GemvKernel::EmitTile(int rows) {
  const int64_t row_bytes = 2 * n_;
  for (int r = 0; r < rows; ++r) vxorps(Xbyak::Xmm(r), Xbyak::Xmm(r), Xbyak::Xmm(r));
  mov(rsi, r8);
  mov(rdx, r10);
  const int64_t steps = n_ / lanes_;  // n % 16 == 0, so a whole number of vectors
  auto step = [&](int u) {
    const Vmm x = V(kX + u);
    if (zmm_) {
      vmovups(x, zword[rdx + u * lanes_ * 4]);
    } else {
      vmovups(x, yword[rdx + u * lanes_ * 4]);
    }
    for (int r = 0; r < rows; ++r) {
      const Vmm w = V(kW + r % 2);
      const int disp = static_cast<int>(r * row_bytes + u * lanes_ * 2);
      if (zmm_) {
        vcvtph2ps(w, yword[rsi + disp]);
      } else {
        vcvtph2ps(w, xword[rsi + disp]);
      }
      vfmadd231ps(V(r), w, x);
    }
  };
  if (steps / kUnroll > 0) {
    Xbyak::Label l_loop;
    mov(rax, steps / kUnroll);
    L(l_loop);
    for (int u = 0; u < kUnroll; ++u) step(u);
    add(rsi, kUnroll * lanes_ * 2);
    add(rdx, kUnroll * lanes_ * 4);
    dec(rax);
    jnz(l_loop);
  }
  for (int u = 0; u < steps % kUnroll; ++u) step(u);
  // Pairwise lane reduction of each row, then one float store per row.
  for (int r = 0; r < rows; ++r) {
    const Xbyak::Ymm y(r), h(kHorizontal);
    const Xbyak::Xmm x(r);
    if (zmm_) {
      vextractf64x4(h, Xbyak::Zmm(r), 1);
      vaddps(y, y, h);
    }
    HorizontalSumPs(y, h);
    vmovss(dword[r9 + 4 * r], x);
  }
}

}  // namespace bitjit::codegen
