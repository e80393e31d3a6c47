// GEMV over an F16 matrix with float accumulation: the tied lm_head of bitnet-b1.58-2B-4T,
// logits[v] = sum_i x[i] * table[v][i], which reads the whole 657 MB token_embd per generated
// token (more than half of decode's memory traffic), so it must stream at memory bandwidth.
//
// The kernel reads the table repacked into row tiles (f16_tiled_table.h): a tile of R rows is
// one contiguous run of blocks of R x L halves, so a tile is a single linear stream. (Reading
// R rows of the model's row-major table instead makes R short streams per tile, which the
// hardware prefetchers pick up afresh every 5 KB: one Zen 4 core read 20 GB/s that way and
// 28-30 GB/s from the tiled copy. Software prefetch did not close that gap.)
//
// Per tile, one accumulator vector per row; each block loads L floats of x once, shared by
// the R rows. Float order (fixed, so results are reproducible, but not the reference's
// sequential order): lane l of a row's accumulator sums i = l, l + L, l + 2L, ... with FMA
// (L = 16 on AVX-512, 8 on AVX2), then the lanes are added pairwise (upper half onto lower
// half until one lane is left).
#pragma once

#include <cstdint>
#include <string>

#include "codegen/cpu_features.h"
#include "codegen/jit/jit_generator.h"

namespace bitjit::codegen {

struct F16GemvArgs {
  const uint16_t* tiles;  // the first tile to read (F16TiledTable::tile)
  const float* x;         // n floats
  float* out;             // R floats per tile, the first tile's rows first
  int64_t n_tiles;        // tiles to read
};

class F16GemvKernel : public JitGenerator {
 public:
  using Fn = void (*)(const F16GemvArgs*);

  // n (baked in) must be a multiple of 16: GGUF writers store token_embd as F16 only when
  // n_embd % 256 == 0 (Q8_0 otherwise). isa: any vector ISA (VNNI variants run the plain code).
  F16GemvKernel(int64_t n, Isa isa);
  static std::string Name(int64_t n, Isa isa);
  // The tile this ISA's kernel reads: R rows, blocks of L halves per row.
  static int TileRows(Isa isa);
  static int BlockLanes(Isa isa);
  Fn fn() const { return entry<Fn>(); }

 private:
  using Vmm = Xbyak::Xmm;
  void generate() override;
  Vmm V(int idx) const;

  const int64_t n_;
  const bool zmm_;
  const int lanes_;  // L
  const int rows_;   // R
};

}  // namespace bitjit::codegen
