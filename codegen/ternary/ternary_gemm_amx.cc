#include "codegen/ternary/ternary_gemm_amx.h"

#include <cstddef>

#include "codegen/cpu_features.h"
#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

using namespace Xbyak::util;  // NOLINT: register names read like assembly

constexpr int kQuadsPerStep = 16;  // k-quads per B tile: 64 k
constexpr int kBRowBytes = 64;     // one k-quad of 16 rows
constexpr int kCRowBytes = 128;    // c_scratch: one token's 32 rows

// Constant pool rows (64 bytes each).
constexpr int kConstMask03 = 0;
constexpr int kConstBase3 = 64;  // Base3Tables: band, top, low (2 rows)

// Tiles: C(a, b) = tmm(2a + b) for token tile a, row group b; A(a) = tmm(4 + a); B(b) = tmm(6 + b).
Xbyak::Tmm CTile(int a, int b) {
  return Xbyak::Tmm(2 * a + b);
}
Xbyak::Tmm ATile(int a) {
  return Xbyak::Tmm(4 + a);
}
Xbyak::Tmm BTile(int b) {
  return Xbyak::Tmm(6 + b);
}

// GPR roles (rax, rbx, rcx, rdx, rbp are scratch).
const Xbyak::Reg64 reg_args = rdi;
const Xbyak::Reg64 reg_block_row = r8;  // first row of the 32-row block
const Xbyak::Reg64 reg_b = r9;          // b_scratch
const Xbyak::Reg64 reg_c = r10;         // c_scratch
const Xbyak::Reg64 reg_a = rsi;         // first A row of the current token tile(s)
const Xbyak::Reg64 reg_lda = r11;       // bytes from one token's activations to the next
const Xbyak::Reg64 reg_tokens = r12;    // tokens left in the segment
const Xbyak::Reg64 reg_out = r13;       // out + (first token * ld + block row) * 4
const Xbyak::Reg64 reg_q_sum = r14;
const Xbyak::Reg64 reg_q_scale = r15;

// Vector constants held in registers for the unpack.
const Xbyak::Zmm z_mask03(31), z_band(30), z_top(29), z_low0(28), z_low1(27);

constexpr int Arg(size_t offset_in_base) {
  return static_cast<int>(offsetof(TernaryAmxArgs, base) + offset_in_base);
}

}  // namespace

int64_t TernaryGemmAmxKernel::KPad(int64_t k, TernaryPacking packing) {
  const int block_k = TernaryBlockK(packing);
  const int64_t quads = (k + block_k - 1) / block_k * (block_k / 4);
  return (quads + kQuadsPerStep - 1) / kQuadsPerStep * kQuadsPerStep * 4;
}

std::string TernaryGemmAmxKernel::Name(const TernaryAmxParams& p) {
  return "TernaryGemm_" + std::to_string(kBlockRows) + "r" + std::to_string(kTileTokens) +
         "t_amx_" + (p.packing == TernaryPacking::k1p6Bit ? "b3_" : "") + "R" +
         std::to_string(p.tile_rows) + "_K" + std::to_string(p.k) +
         (p.output == TernaryOutput::kF32 ? "_f32" : "_i32");
}

TernaryGemmAmxKernel::TernaryGemmAmxKernel(const TernaryAmxParams& params)
    : JitGenerator(Name(params)),
      p_(params),
      base3_(params.packing == TernaryPacking::k1p6Bit),
      planes_(TernaryBlockK(params.packing) / 4),
      n_chunks_((params.k + TernaryBlockK(params.packing) - 1) / TernaryBlockK(params.packing)),
      k_pad_(KPad(params.k, params.packing)),
      k_steps_(k_pad_ / 64),
      group_bytes_(k_steps_ * kQuadsPerStep * kBRowBytes) {
  RequireAmxTilePermission();
  if (p_.k < 1 || p_.k > kTernaryMaxK) Fail("ternary AMX kernel K = ", p_.k, " out of range");
  if (p_.tile_rows != 16 && p_.tile_rows != 32 && p_.tile_rows != 64) {
    Fail("ternary AMX kernels read tiles of 16, 32 or 64 rows, not ", p_.tile_rows);
  }
  if (base3_ && !HasAvx512Vbmi()) Fail("1.6-bit ternary AMX kernels need AVX512_VBMI");
  setDefaultJmpNEAR(true);
}

// Layout of the generated function:
//   for each 32-row block covering [row_begin, row_end):
//     unpack its two row groups into b_scratch; row masks k1, k2
//     segment(q, stride K, n_main tokens); segment(q_tail, stride KPad, the rest)
void TernaryGemmAmxKernel::generate() {
  Preamble();
  ldtilecfg(ptr[rip + l_cfg_]);
  vmovdqu32(z_mask03, ptr[rip + l_const_ + kConstMask03]);
  if (base3_) {
    auto table = [&](size_t offset) {
      return ptr[rip + l_const_ + static_cast<int>(kConstBase3 + offset)];
    };
    vmovdqu32(z_band, table(offsetof(Base3Tables, band)));
    vmovdqu32(z_top, table(offsetof(Base3Tables, top)));
    vmovdqu32(z_low0, table(offsetof(Base3Tables, low)));
    vmovdqu32(z_low1, table(offsetof(Base3Tables, low) + 64));
  }
  mov(reg_b, qword[reg_args + offsetof(TernaryAmxArgs, b_scratch)]);
  mov(reg_c, qword[reg_args + offsetof(TernaryAmxArgs, c_scratch)]);
  movsxd(reg_block_row, dword[reg_args + Arg(offsetof(TernaryKernelArgs, row_begin))]);
  and_(reg_block_row, -kBlockRows);

  Xbyak::Label l_block, l_done;
  L(l_block);
  cmp(reg_block_row.cvt32(), dword[reg_args + Arg(offsetof(TernaryKernelArgs, row_end))]);
  jge(l_done);
  EmitUnpackGroup(0);
  EmitUnpackGroup(1);
  EmitRowMask(0);
  EmitRowMask(1);

  // Segment 1: tokens [0, n_main) straight from q.
  mov(reg_a, qword[reg_args + Arg(offsetof(TernaryKernelArgs, q))]);
  mov(reg_lda, p_.k);
  mov(reg_tokens, qword[reg_args + offsetof(TernaryAmxArgs, n_main)]);
  mov(reg_out, qword[reg_args + Arg(offsetof(TernaryKernelArgs, out))]);
  lea(reg_out, ptr[reg_out + reg_block_row * 4]);
  mov(reg_q_sum, qword[reg_args + Arg(offsetof(TernaryKernelArgs, q_sum))]);
  mov(reg_q_scale, qword[reg_args + Arg(offsetof(TernaryKernelArgs, q_scale))]);
  call(l_segment_);

  // Segment 2: tokens [n_main, n_tokens) from the padded copy. The output, q_sum and q_scale
  // pointers continue where segment 1 left them.
  mov(reg_a, qword[reg_args + offsetof(TernaryAmxArgs, q_tail)]);
  mov(reg_lda, k_pad_);
  mov(reg_tokens, qword[reg_args + Arg(offsetof(TernaryKernelArgs, n_tokens))]);
  sub(reg_tokens, qword[reg_args + offsetof(TernaryAmxArgs, n_main)]);
  call(l_segment_);

  add(reg_block_row, kBlockRows);
  jmp(l_block);

  L(l_done);
  tilerelease();
  Postamble();

  L(l_segment_);
  EmitSegment();
  ret();
  EmitConstants();
}

// Group g (rows block_row + 16g .. +15) into b_scratch + g * group_bytes, one 64-byte row per
// k-quad. Skipped when none of its rows is in [row_begin, row_end): its sums are never stored.
void TernaryGemmAmxKernel::EmitUnpackGroup(int g) {
  Xbyak::Label l_skip, l_chunk;
  lea(eax, ptr[reg_block_row + 16 * g]);
  cmp(eax, dword[reg_args + Arg(offsetof(TernaryKernelArgs, row_end))]);
  jge(l_skip);
  lea(edx, ptr[rax + 16]);
  cmp(edx, dword[reg_args + Arg(offsetof(TernaryKernelArgs, row_begin))]);
  jle(l_skip);
  // src = weights + (row / R) * tile_bytes + 4 * (row % R): the group's 64 bytes of chunk 0.
  const int log2_rows = __builtin_ctz(static_cast<unsigned>(p_.tile_rows));
  const int64_t chunk_bytes = 4 * p_.tile_rows;
  const int64_t tile_bytes = chunk_bytes * n_chunks_;
  if (tile_bytes > INT32_MAX / 2) Fail(name(), ": tile too large");
  mov(ecx, eax);
  and_(ecx, p_.tile_rows - 1);
  shl(ecx, 2);
  shr(eax, log2_rows);
  imul(rax, rax, static_cast<int>(tile_bytes));
  add(rax, rcx);
  add(rax, qword[reg_args + Arg(offsetof(TernaryKernelArgs, weights))]);
  lea(rcx, ptr[reg_b + static_cast<int>(g * group_bytes_)]);
  mov(rdx, n_chunks_);

  L(l_chunk);
  const Xbyak::Zmm w(0), bits(1), code(2), c4(3);
  vmovdqu32(w, ptr[rax]);
  if (base3_) {
    // ternary_layout.h: byte >> 2 picks the band (86 c_4) and c_4; byte - 86 c_4 indexes the
    // 128-entry table of the 2-bit byte c_0 | c_1 << 2 | c_2 << 4 | c_3 << 6.
    vpsrlw(c4, w, 2);
    vpermb(bits, c4, z_band);
    vpermb(c4, c4, z_top);
    vpsubb(bits, w, bits);
    vpermi2b(bits, z_low0, z_low1);
  }
  const Xbyak::Zmm src = base3_ ? bits : w;
  for (int j = 0; j < 4; ++j) {
    if (j > 0) {
      vpsrlw(code, src, 2 * j);
      vpandd(code, code, z_mask03);
    } else {
      vpandd(code, src, z_mask03);
    }
    vmovdqu32(ptr[rcx + j * kBRowBytes], code);
  }
  if (base3_) vmovdqu32(ptr[rcx + 4 * kBRowBytes], c4);
  add(rax, static_cast<int>(chunk_bytes));
  add(rcx, planes_ * kBRowBytes);
  dec(rdx);
  jnz(l_chunk);

  // Zero k-quads up to the whole last B tile: code 0 adds nothing whatever A holds there.
  const int64_t pad_rows = k_steps_ * kQuadsPerStep - n_chunks_ * planes_;
  if (pad_rows > 0) {
    vpxord(code, code, code);
    for (int64_t i = 0; i < pad_rows; ++i) {
      vmovdqu32(ptr[rcx + static_cast<int>(i * kBRowBytes)], code);
    }
  }
  L(l_skip);
}

// k(g + 1) = lanes of group g whose rows lie in [row_begin, row_end): bits [lo, hi) with
// lo, hi = clamp(row_begin / row_end - first row of the group, 0, 16).
void TernaryGemmAmxKernel::EmitRowMask(int g) {
  auto clamp_lanes = [&](const Xbyak::Reg32& r) {
    mov(ecx, 0);
    cmp(r, 0);
    cmovl(r, ecx);
    mov(ecx, 16);
    cmp(r, ecx);
    cmovg(r, ecx);
  };
  mov(eax, dword[reg_args + Arg(offsetof(TernaryKernelArgs, row_begin))]);
  sub(eax, reg_block_row.cvt32());
  sub(eax, 16 * g);
  clamp_lanes(eax);
  mov(edx, dword[reg_args + Arg(offsetof(TernaryKernelArgs, row_end))]);
  sub(edx, reg_block_row.cvt32());
  sub(edx, 16 * g);
  clamp_lanes(edx);
  mov(ecx, 1);
  shlx(edx, ecx, edx);
  shlx(eax, ecx, eax);
  sub(edx, eax);
  kmovw(Xbyak::Opmask(g + 1), edx);
}

// The token loop of one segment (a subroutine: reg_a, reg_lda, reg_tokens, reg_out,
// reg_q_sum, reg_q_scale set by the caller, advanced here). Pairs of A tiles while more than
// 16 tokens are left (a segment's rows are readable up to a multiple of 16), then one.
void TernaryGemmAmxKernel::EmitSegment() {
  Xbyak::Label l_pair, l_single, l_ret;
  L(l_pair);
  cmp(reg_tokens, kTileTokens);
  jle(l_single);
  EmitTokenTiles(2);
  jmp(l_pair);
  L(l_single);
  test(reg_tokens, reg_tokens);
  jle(l_ret);
  EmitTokenTiles(1);
  L(l_ret);
}

// n_a token tiles (16 n_a tokens) against both row groups over all of K, then the epilogue of
// the tokens that exist; advances the segment's pointers by 16 n_a tokens.
void TernaryGemmAmxKernel::EmitTokenTiles(int n_a) {
  for (int a = 0; a < n_a; ++a) {
    for (int b = 0; b < 2; ++b) tilezero(CTile(a, b));
  }
  mov(rax, reg_a);
  if (n_a == 2) {
    imul(rbx, reg_lda, kTileTokens);
    add(rbx, reg_a);
  }
  mov(rcx, reg_b);
  mov(ebp, kBRowBytes);
  mov(rdx, k_steps_);
  Xbyak::Label l_k;
  L(l_k);
  tileloadd(BTile(0), ptr[rcx + rbp]);
  tileloadd(BTile(1), ptr[rcx + rbp + static_cast<int>(group_bytes_)]);
  tileloadd(ATile(0), ptr[rax + reg_lda]);
  tdpbsud(CTile(0, 0), ATile(0), BTile(0));
  tdpbsud(CTile(0, 1), ATile(0), BTile(1));
  if (n_a == 2) {
    tileloadd(ATile(1), ptr[rbx + reg_lda]);
    tdpbsud(CTile(1, 0), ATile(1), BTile(0));
    tdpbsud(CTile(1, 1), ATile(1), BTile(1));
    add(rbx, 64);
  }
  add(rax, 64);
  add(rcx, kQuadsPerStep * kBRowBytes);
  dec(rdx);
  jnz(l_k);

  mov(ebp, kCRowBytes);
  for (int a = 0; a < n_a; ++a) {
    for (int b = 0; b < 2; ++b) {
      tilestored(ptr[reg_c + rbp + a * kTileTokens * kCRowBytes + b * 64], CTile(a, b));
    }
  }
  EmitEpilogue(n_a);

  imul(rax, reg_lda, n_a * kTileTokens);
  add(reg_a, rax);
  sub(reg_tokens, n_a * kTileTokens);
}

// c_scratch row t holds sum c*q of token t for the block's 32 rows. The VNNI kernels'
// epilogue (TernaryKernelBase::EmitEpilogue, zmm), instruction for instruction, then masked
// stores; the segment's out / q_sum / q_scale pointers advance by the tokens done.
void TernaryGemmAmxKernel::EmitEpilogue(int n_a) {
  const int n_max = n_a * kTileTokens;
  mov(rdx, reg_tokens);  // tokens of these tiles that exist: min(left, 16 n_a)
  mov(ecx, n_max);
  cmp(rdx, rcx);
  cmovg(rdx, rcx);
  mov(rbp, qword[reg_args + Arg(offsetof(TernaryKernelArgs, ld_out))]);
  shl(rbp, 2);
  mov(rbx, reg_c);
  const bool f32 = p_.output == TernaryOutput::kF32;
  const Xbyak::Zmm res(0), tmp(1);
  const Xbyak::RegExp scale = reg_args + Arg(offsetof(TernaryKernelArgs, weight_scale));
  Xbyak::Label l_t;
  L(l_t);
  for (int b = 0; b < 2; ++b) {
    const Xbyak::Opmask k(b + 1);
    vmovdqu32(res, ptr[rbx + b * 64]);
    if (f32) {
      vcvtdq2ps(res, res);
      vcvtdq2ps(tmp, ptr_b[reg_q_sum]);
      vsubps(res, res, tmp);
      vdivps(res, res, ptr_b[reg_q_scale]);
      vmulps(res, res, ptr_b[scale]);
      vmovups(ptr[reg_out + b * 64] | k, res);
    } else {
      vpsubd(res, res, ptr_b[reg_q_sum]);
      vmovdqu32(ptr[reg_out + b * 64] | k, res);
    }
  }
  add(rbx, kCRowBytes);
  add(reg_out, rbp);
  add(reg_q_sum, 4);
  add(reg_q_scale, 4);
  dec(rdx);
  jnz(l_t);
  // Past tokens that did not exist (only at a segment's end, where nothing follows).
}

void TernaryGemmAmxKernel::EmitConstants() {
  align(64);
  L(l_const_);
  for (int i = 0; i < 64; ++i) db(0x03);
  static_assert(sizeof(Base3Tables) == 256, "the pool's base-3 rows");
  const auto* tables = reinterpret_cast<const uint8_t*>(&TernaryBase3Tables());
  for (size_t i = 0; i < sizeof(Base3Tables); ++i) db(tables[i]);
  // Tile configuration (palette 1): all eight tiles 16 rows x 64 bytes.
  align(64);
  L(l_cfg_);
  uint8_t cfg[64] = {};
  cfg[0] = 1;
  for (int t = 0; t < 8; ++t) {
    cfg[16 + 2 * t] = 64;  // colsb, little-endian uint16
    cfg[48 + t] = 16;      // rows
  }
  for (uint8_t byte : cfg) db(byte);
}

}  // namespace bitjit::codegen
