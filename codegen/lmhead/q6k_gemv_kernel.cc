#include "codegen/lmhead/q6k_gemv_kernel.h"

#include <cstddef>

#include "codegen/lmhead/q6k_format.h"
#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

// ymm registers: float accumulator 0, block int32 accumulator 1, masks 2 (0x0F) and 3 (0x30;
// 0x33 with ternlog), ql halves 4 and 5, qh 6, quants being built 7, high-bit temp 8, the
// block's scales as int16 9, a pair of group scales 10, products 11, float scale 12 and 13,
// horizontal temp 14, one half block's scales in both lanes 15.
constexpr int kAcc = 0, kInt = 1, kLow = 2, kHigh = 3, kQl0 = 4, kQl1 = 5, kQh = 6, kQ = 7,
              kBits = 8, kScales = 9, kPair = 10, kProduct = 11, kD = 12, kDx = 13,
              kHorizontal = 14, kHalfScales = 15;

// vpternlogd immediates for (a, b, c) = (dst, src, mask): c ? b : a, and c ? a : b.
constexpr uint8_t kMaskPicksSrc = 0xD8, kMaskPicksDst = 0xE4;

Xbyak::Ymm Y(int i) {
  return Xbyak::Ymm(i);
}
Xbyak::Xmm X(int i) {
  return Xbyak::Xmm(i);
}

}  // namespace

std::string Q6KGemvKernel::Name(int64_t n, bool ternlog) {
  return std::string("Q6KGemv_1r_") + (ternlog ? "avx512vl" : "avx2") + "_N" + std::to_string(n);
}

Q6KGemvKernel::Q6KGemvKernel(int64_t n, bool ternlog)
    : RowDotKernel(Name(n, ternlog)), n_(n), ternlog_(ternlog) {
  if (n < q6k::kBlock || n % q6k::kBlock != 0 || n > (int64_t{1} << 24)) {
    Fail("Q6_K GEMV: row length ", n, " must be a positive multiple of 256");
  }
  setDefaultJmpNEAR(true);
}

// Registers: r8 the table row, r9 its output, rcx rows left, r10 the input; per row rsi / rdx
// walk the row's and the input's blocks and rax counts blocks.
void Q6KGemvKernel::generate() {
  using namespace Xbyak::util;
  Preamble();
  const int64_t row_bytes = n_ / q6k::kBlock * q6k::kBlockBytes;
  Xbyak::Label l_shuffles, l_row, l_block;
  EmitRowsBegin({offsetof(Q6KGemvArgs, table), offsetof(Q6KGemvArgs, out),
                 offsetof(Q6KGemvArgs, row_begin), offsetof(Q6KGemvArgs, row_end)},
                row_bytes);
  mov(r10, qword[rdi + offsetof(Q6KGemvArgs, x)]);
  mov(eax, 0x0F0F0F0F);
  vmovd(X(kLow), eax);
  vpbroadcastd(Y(kLow), X(kLow));
  mov(eax, ternlog_ ? 0x33333333 : 0x30303030);
  vmovd(X(kHigh), eax);
  vpbroadcastd(Y(kHigh), X(kHigh));

  L(l_row);
  vxorps(Y(kAcc), Y(kAcc), Y(kAcc));
  mov(rsi, r8);
  mov(rdx, r10);
  mov(rax, n_ / q6k::kBlock);
  L(l_block);
  EmitBlock(l_shuffles);
  add(rsi, q6k::kBlockBytes);
  add(rdx, q6k::kQ8KBlockBytes);
  dec(rax);
  jnz(l_block);
  EmitRowEnd(Y(kAcc), Y(kHorizontal), row_bytes, l_row);
  Postamble();

  // vpshufb indices over one half block's 8 int16 scales (in both lanes): quarter k takes
  // scale 2k (bytes 4k, 4k+1) in the low lane and scale 2k+1 in the high lane.
  align(32);
  L(l_shuffles);
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 32; ++i) db(4 * k + 2 * (i / 16) + i % 2);
}

void Q6KGemvKernel::EmitBlock(const Xbyak::Label& shuffles) {
  using namespace Xbyak::util;
  // int = -32 · (scale · bsum) per pair of groups.
  vpmovsxbw(Y(kScales), xword[rsi + q6k::kScalesOffset]);
  vpmaddwd(Y(kPair), Y(kScales), yword[rdx + q6k::kQ8KBsumsOffset]);
  vpslld(Y(kPair), Y(kPair), 5);
  vpxor(Y(kInt), Y(kInt), Y(kInt));
  vpsubd(Y(kInt), Y(kInt), Y(kPair));
  for (int h = 0; h < 2; ++h) {
    vpermq(Y(kHalfScales), Y(kScales), h == 0 ? 0x44 : 0xEE);
    // Adds scale · (q · x) of quarter k's 32 quants (groups 8h + 2k, 8h + 2k + 1).
    auto dot = [&](int k) {
      vpmaddubsw(Y(kProduct), Y(kQ), yword[rdx + q6k::kQ8KQsOffset + 128 * h + 32 * k]);
      vpshufb(Y(kPair), Y(kHalfScales), yword[rip + shuffles + 32 * k]);
      vpmaddwd(Y(kProduct), Y(kProduct), Y(kPair));
      vpaddd(Y(kInt), Y(kInt), Y(kProduct));
    };
    vmovdqu(Y(kQl0), yword[rsi + q6k::kQlOffset + 64 * h]);
    vmovdqu(Y(kQl1), yword[rsi + q6k::kQlOffset + 64 * h + 32]);
    vmovdqu(Y(kQh), yword[rsi + q6k::kQhOffset + 32 * h]);
    // 16-bit shifts are fine throughout: the masks drop the bits that crossed a byte.
    if (ternlog_) {
      // A = qh & 0x33 holds quarter 0's high bits at 0-1 and quarter 2's at 4-5 (bits 2-3 and
      // 6-7 clear), so one bit-select per quarter merges nibble and high bits.
      vpand(Y(kBits), Y(kQh), Y(kHigh));
      vpsllw(Y(kQ), Y(kBits), 4);
      vpternlogd(Y(kQ), Y(kQl0), Y(kLow), kMaskPicksSrc);  // ql0 low nibble | A << 4
      dot(0);
      vpsrlw(Y(kQ), Y(kQl0), 4);
      vpternlogd(Y(kQ), Y(kBits), Y(kLow), kMaskPicksDst);  // ql0 high nibble | A
      dot(2);
      // The same with (qh >> 2) & 0x33 for quarters 1 and 3.
      vpsrlw(Y(kBits), Y(kQh), 2);
      vpand(Y(kBits), Y(kBits), Y(kHigh));
      vpsllw(Y(kQ), Y(kBits), 4);
      vpternlogd(Y(kQ), Y(kQl1), Y(kLow), kMaskPicksSrc);
      dot(1);
      vpsrlw(Y(kQ), Y(kQl1), 4);
      vpternlogd(Y(kQ), Y(kBits), Y(kLow), kMaskPicksDst);
      dot(3);
      continue;
    }
    // Quarter 0: low nibbles of ql0, qh bits 0-1 (shifted up to 4-5).
    vpand(Y(kQ), Y(kQl0), Y(kLow));
    vpsllw(Y(kBits), Y(kQh), 4);
    vpand(Y(kBits), Y(kBits), Y(kHigh));
    vpor(Y(kQ), Y(kQ), Y(kBits));
    dot(0);
    // Quarter 1: low nibbles of ql1, qh bits 2-3.
    vpand(Y(kQ), Y(kQl1), Y(kLow));
    vpsllw(Y(kBits), Y(kQh), 2);
    vpand(Y(kBits), Y(kBits), Y(kHigh));
    vpor(Y(kQ), Y(kQ), Y(kBits));
    dot(1);
    // Quarter 2: high nibbles of ql0, qh bits 4-5.
    vpsrlw(Y(kQ), Y(kQl0), 4);
    vpand(Y(kQ), Y(kQ), Y(kLow));
    vpand(Y(kBits), Y(kQh), Y(kHigh));
    vpor(Y(kQ), Y(kQ), Y(kBits));
    dot(2);
    // Quarter 3: high nibbles of ql1, qh bits 6-7.
    vpsrlw(Y(kQ), Y(kQl1), 4);
    vpand(Y(kQ), Y(kQ), Y(kLow));
    vpsrlw(Y(kBits), Y(kQh), 2);
    vpand(Y(kBits), Y(kBits), Y(kHigh));
    vpor(Y(kQ), Y(kQ), Y(kBits));
    dot(3);
  }
  // acc += (float)int · (d · d_x).
  vcvtdq2ps(Y(kInt), Y(kInt));
  vpbroadcastw(X(kD), word[rsi + q6k::kDOffset]);
  vcvtph2ps(Y(kD), X(kD));
  vbroadcastss(Y(kDx), dword[rdx]);
  vmulps(Y(kD), Y(kD), Y(kDx));
  vfmadd231ps(Y(kAcc), Y(kInt), Y(kD));
}

}  // namespace bitjit::codegen
