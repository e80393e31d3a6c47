#include "codegen/lmhead/f16_gemv_kernel.h"

#include <cstddef>

#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

bool IsZmm(Isa isa) {
  return IsAvx512Isa(isa);
}

}  // namespace

int F16GemvKernel::TileRows(Isa isa) {
  // One accumulator per row plus x and two weight registers: 16 + 3 of AVX-512's 32 vector
  // registers, 8 + 3 of AVX2's 16.
  return IsZmm(isa) ? 16 : 8;
}

int F16GemvKernel::BlockLanes(Isa isa) {
  return IsZmm(isa) ? 16 : 8;
}

std::string F16GemvKernel::Name(int64_t n, Isa isa, int prefetch_bytes) {
  return "F16Gemv_" + std::to_string(TileRows(isa)) + "r_" + (IsZmm(isa) ? "avx512" : "avx2") +
         "_N" + std::to_string(n) + (prefetch_bytes ? "_pf" + std::to_string(prefetch_bytes) : "");
}

int F16GemvKernel::DefaultPrefetchBytes(Isa isa) {
  if (isa == Isa::kRef) return 0;
  const CpuIdentity& cpu = HostCpu();
  if (cpu.vendor == "GenuineIntel") return 4096;
  if (cpu.vendor == "AuthenticAMD" && cpu.family >= 26 && !IsZmm(isa)) return 8192;
  return 0;
}

F16GemvKernel::F16GemvKernel(int64_t n, Isa isa, int prefetch_bytes)
    : JitGenerator(Name(n, isa, prefetch_bytes)),
      n_(n),
      zmm_(IsZmm(isa)),
      lanes_(BlockLanes(isa)),
      rows_(TileRows(isa)),
      prefetch_bytes_(prefetch_bytes) {
  if (isa == Isa::kRef) Fail("F16GemvKernel needs a vector ISA, not ref");
  CheckPrefetchDistance("F16GemvKernel", prefetch_bytes);
  if (n < 16 || n % 16 != 0 || n > (int64_t{1} << 24)) {
    Fail("F16 GEMV: row length ", n, " must be a positive multiple of 16");
  }
  setDefaultJmpNEAR(true);
}

F16GemvKernel::Vmm F16GemvKernel::V(int idx) const {
  if (zmm_) return Xbyak::Zmm(idx);
  return Xbyak::Ymm(idx);
}

// Registers: rsi walks the tiles, rdx walks x inside a tile, r9 out, rcx tiles left, rax the
// block counter. Vectors: accumulators 0..R-1, then x, two weights and a reduction temporary.
void F16GemvKernel::generate() {
  Preamble();
  const int kX = rows_, kW = rows_ + 1, kHorizontal = rows_ + 3;
  const int block_bytes = rows_ * lanes_ * 2;  // one block of the tile: R x L halves
  mov(rsi, qword[rdi + offsetof(F16GemvArgs, tiles)]);
  mov(r10, qword[rdi + offsetof(F16GemvArgs, x)]);
  mov(r9, qword[rdi + offsetof(F16GemvArgs, out)]);
  mov(rcx, qword[rdi + offsetof(F16GemvArgs, n_tiles)]);
  Xbyak::Label l_tile, l_done;
  test(rcx, rcx);
  jz(l_done);
  L(l_tile);
  for (int r = 0; r < rows_; ++r) vxorps(Xbyak::Xmm(r), Xbyak::Xmm(r), Xbyak::Xmm(r));
  mov(rdx, r10);
  mov(rax, n_ / lanes_);
  Xbyak::Label l_block;
  L(l_block);
  if (zmm_) {
    vmovups(V(kX), zword[rdx]);
  } else {
    vmovups(V(kX), yword[rdx]);
  }
  for (int r = 0; r < rows_; ++r) {
    const Vmm w = V(kW + r % 2);
    if (zmm_) {
      vcvtph2ps(w, yword[rsi + r * lanes_ * 2]);
    } else {
      vcvtph2ps(w, xword[rsi + r * lanes_ * 2]);
    }
    vfmadd231ps(V(r), w, V(kX));
  }
  if (prefetch_bytes_ > 0) PrefetchLines(rsi, prefetch_bytes_, block_bytes);
  add(rsi, block_bytes);
  add(rdx, lanes_ * 4);
  dec(rax);
  jnz(l_block);
  // Pairwise lane reduction of each row, then one float store per row.
  for (int r = 0; r < rows_; ++r) {
    const Xbyak::Ymm y(r), h(kHorizontal);
    if (zmm_) {
      vextractf64x4(h, Xbyak::Zmm(r), 1);
      vaddps(y, y, h);
    }
    HorizontalSumPs(y, h);
    vmovss(dword[r9 + 4 * r], Xbyak::Xmm(r));
  }
  add(r9, rows_ * 4);
  dec(rcx);
  jnz(l_tile);
  L(l_done);
  Postamble();
}

}  // namespace bitjit::codegen
