#include "codegen/lmhead/q8_0_gemv_kernel.h"

#include <cstddef>

#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

// ymm registers: float accumulator 0, the 8 blocks' int32 vectors 1..8, |x| 9, scales 10,
// horizontal temp 11, int16 ones 15.
constexpr int kAcc = 0, kSums = 1, kXAbs = 9, kScale = 10, kHorizontal = 11, kOnes = 15;

Xbyak::Ymm Y(int i) {
  return Xbyak::Ymm(i);
}
Xbyak::Xmm X(int i) {
  return Xbyak::Xmm(i);
}

}  // namespace

std::string Q8_0GemvKernel::Name(int64_t n) {
  return "Q8_0Gemv_1r_avx2_N" + std::to_string(n);
}

Q8_0GemvKernel::Q8_0GemvKernel(int64_t n) : RowDotKernel(Name(n)), n_(n) {
  if (n < kBlock || n % kBlock != 0 || n > (int64_t{1} << 24)) {
    Fail("Q8_0 GEMV: row length ", n, " must be a positive multiple of 32");
  }
  setDefaultJmpNEAR(true);
}

// Registers: r8 the table row, r9 its output, rcx rows left, r10 / r11 / r12 the input's quants
// / |quants| / scales; per row r14 walks the row's scales, rsi its quants, rdx / rbx / r13 the
// input, rax counts groups of 8 blocks.
void Q8_0GemvKernel::generate() {
  using namespace Xbyak::util;
  Preamble();
  const int64_t groups = (n_ / kBlock + kGroup - 1) / kGroup;
  const int64_t scale_bytes = groups * kGroup * 2;
  const int64_t row_bytes = groups * kGroup * (kBlock + 2);
  EmitRowsBegin({offsetof(Q8_0GemvArgs, table), offsetof(Q8_0GemvArgs, out),
                 offsetof(Q8_0GemvArgs, row_begin), offsetof(Q8_0GemvArgs, row_end)},
                row_bytes);
  mov(r10, qword[rdi + offsetof(Q8_0GemvArgs, x_q)]);
  mov(r11, qword[rdi + offsetof(Q8_0GemvArgs, x_abs)]);
  mov(r12, qword[rdi + offsetof(Q8_0GemvArgs, x_d)]);
  mov(eax, 0x00010001);
  vmovd(X(kOnes), eax);
  vpbroadcastd(Y(kOnes), X(kOnes));

  Xbyak::Label l_row, l_group;
  L(l_row);
  vxorps(Y(kAcc), Y(kAcc), Y(kAcc));
  mov(r14, r8);
  lea(rsi, ptr[r8 + static_cast<int>(scale_bytes)]);
  mov(rdx, r10);
  mov(rbx, r11);
  mov(r13, r12);
  mov(rax, groups);
  L(l_group);
  for (int j = 0; j < kGroup; ++j) {
    // Exact int32 lanes of qw·qx for block j: |qx| times qw carrying qx's sign.
    const Xbyak::Ymm s = Y(kSums + j);
    vmovdqu(s, yword[rsi + kBlock * j]);
    vpsignb(s, s, yword[rdx + kBlock * j]);
    vmovdqu(Y(kXAbs), yword[rbx + kBlock * j]);
    vpmaddubsw(s, Y(kXAbs), s);
    vpmaddwd(s, s, Y(kOnes));
  }
  // Lanes of 8 vectors -> one vector of the 8 block sums (lane j = block j).
  for (int j = 0; j < kGroup; j += 2) vphaddd(Y(kSums + j), Y(kSums + j), Y(kSums + j + 1));
  vphaddd(Y(kSums), Y(kSums), Y(kSums + 2));
  vphaddd(Y(kSums + 4), Y(kSums + 4), Y(kSums + 6));
  vperm2i128(Y(kSums + 1), Y(kSums), Y(kSums + 4), 0x20);
  vperm2i128(Y(kSums + 3), Y(kSums), Y(kSums + 4), 0x31);
  vpaddd(Y(kSums), Y(kSums + 1), Y(kSums + 3));
  vcvtdq2ps(Y(kSums), Y(kSums));
  // acc += sums · (dw · dx), 8 blocks at once.
  vcvtph2ps(Y(kScale), xword[r14]);
  vmulps(Y(kScale), Y(kScale), yword[r13]);
  vfmadd231ps(Y(kAcc), Y(kSums), Y(kScale));
  add(r14, kGroup * 2);
  add(rsi, kGroup * kBlock);
  add(rdx, kGroup * kBlock);
  add(rbx, kGroup * kBlock);
  add(r13, kGroup * 4);
  dec(rax);
  jnz(l_group);
  EmitRowEnd(Y(kAcc), Y(kHorizontal), row_bytes, l_row);
  Postamble();
}

}  // namespace bitjit::codegen
