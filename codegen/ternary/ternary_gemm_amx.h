// Ternary GEMM on AMX-INT8 tiles: the prefill matmul for many tokens on Sapphire Rapids and
// later. One tdpbsud multiplies a 16x64 int8 A tile by a 64x16 B tile (16,384 MACs), about 16x
// what one core's VNNI issues per cycle, and its int32 sums are exact.
//
// Per block of 32 output rows (two 16-row groups, each one B-tile column):
//   1. Unpack: the group's packed codes (2-bit or 1.6-bit layout, ternary_layout.h) become
//      code bytes c = w + 1 in {0, 1, 2} in VNNI order, in a per-thread scratch: one 64-byte row
//      per k-quad (dword lane i = row i, its 4 bytes 4 consecutive k). That is exactly the
//      layout's own dword-per-row order, so a chunk unpacks with shifts and masks (1.6 bits:
//      the two VBMI lookups first) and no shuffles. Rows past the last chunk are zero to a
//      whole B tile (16 k-quads = 64 k). KPad(k)/4 x 64 bytes per group; 221 KB for both groups
//      at K = 6912, so the block stays in L2 while every token tile passes over it.
//   2. Token tiles, two at a time (2x2 blocking: C tmm0-3, A tmm4-5, B tmm6-7), then one: A is
//      16 tokens x 64 k loaded straight from the activations (stride K), B from the scratch.
//      tdpbsud (A signed, B unsigned) accumulates sum c*q = dot + q_sum.
//   3. The C tiles go to a scratch (tilestored) and the epilogue of the VNNI kernels runs on
//      them in zmm: the same instructions in the same order (dot = sum - q_sum, or the float
//      formula of ternary_kernel_args.h), so int32 and float outputs are bit-identical.
//      Only rows [row_begin, row_end) are stored (masked), as every ternary kernel.
//
// A tile rows read KPad(k) bytes from each token: past K for the last tokens, so the caller
// hands the tokens whose rows would run past the end of q in a padded copy (q_tail below).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "codegen/jit/jit_generator.h"
#include "codegen/ternary/ternary_kernel_args.h"
#include "codegen/ternary/ternary_layout.h"

namespace bitjit::codegen {

// The AMX GEMM's arguments: every ternary kernel's, and where the padded tail and the
// scratch are (all per call; one pointer in rdi as for the other kernels).
struct TernaryAmxArgs {
  TernaryKernelArgs base;  // base.q: tokens [0, n_main), stride K
  const int8_t* q_tail;    // tokens [n_main, n_tokens), stride KPad(k), rows up to a multiple
                           // of 16 readable (their values never reach an output)
  int64_t n_main;          // a multiple of 16
  uint8_t* b_scratch;      // ScratchBytes(): the unpacked B tiles of one 32-row block
  int32_t* c_scratch;      // kCScratchBytes: 32 tokens x 32 rows of int32 sums
};

struct TernaryAmxParams {
  int64_t k = 0;
  int tile_rows = 32;  // R of the packed layout: 16, 32 or 64
  TernaryPacking packing = TernaryPacking::k2Bit;
  TernaryOutput output = TernaryOutput::kI32;
};

class TernaryGemmAmxKernel : public JitGenerator {
 public:
  using Fn = void (*)(const TernaryAmxArgs*);
  static constexpr int kBlockRows = 32;   // output rows per unpacked block
  static constexpr int kTileTokens = 16;  // tokens per A tile
  static constexpr size_t kCScratchBytes = 32 * 32 * 4;

  // Throws bitjit::Error on shapes it cannot generate, or where the OS refuses AMX
  // (RequireAmxTilePermission).
  explicit TernaryGemmAmxKernel(const TernaryAmxParams& params);

  // e.g. "TernaryGemm_32r16t_amx_b3_K2560_f32": 32-row blocks, 16-token tiles.
  static std::string Name(const TernaryAmxParams& params);
  // K rounded up to whole B tiles (64 k) over the packing's chunks: the bytes each A row reads.
  static int64_t KPad(int64_t k, TernaryPacking packing);

  Fn fn() const { return entry<Fn>(); }
  const TernaryAmxParams& params() const { return p_; }
  int64_t k_pad() const { return k_pad_; }
  size_t ScratchBytes() const { return 2 * static_cast<size_t>(group_bytes_); }

 private:
  void generate() override;
  void EmitUnpackGroup(int g);
  void EmitRowMask(int g);
  void EmitSegment();
  void EmitTokenTiles(int n_a);
  void EmitEpilogue(int n_a);
  void EmitConstants();

  const TernaryAmxParams p_;
  const bool base3_;
  const int planes_;        // k-quads per chunk: 4 or 5
  const int64_t n_chunks_;  // chunks (blocks) per tile row
  const int64_t k_pad_;
  const int64_t k_steps_;      // B tiles per group: k_pad / 64
  const int64_t group_bytes_;  // k_steps * 1024
  Xbyak::Label l_const_, l_cfg_, l_segment_;
};

}  // namespace bitjit::codegen
