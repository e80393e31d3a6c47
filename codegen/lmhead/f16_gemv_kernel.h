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
  // prefetch_bytes: how far ahead of the table stream to prefetch (a multiple of 64; 0: none).
  F16GemvKernel(int64_t n, Isa isa, int prefetch_bytes);
  static std::string Name(int64_t n, Isa isa, int prefetch_bytes);
  // The distance for `isa`'s kernel on this CPU (bench/lm_head_bench BM_F16, 32768 rows):
  //   Intel 4096: one Sapphire Rapids core's hardware prefetchers alone read the 2B-4T table at
  //     16.5 GB/s with 1 thread and 25.6 with 2; prefetching 4 KB ahead, 18.0-18.8 and
  //     33.7-37.2 (distances 512-16384 measured).
  //   Zen 5 (AMD family >= 26), AVX2 kernel 8192: 1 thread 5.8-6.5 ms -> 4.8-4.9 ms, 2 threads
  //     4.4-4.7 -> 4.0 ms. Its AVX-512 kernel gains nothing (5.0-5.4 ms at every distance).
  //   Elsewhere none: on Zen 4 software prefetch did not pay.
  static int DefaultPrefetchBytes(Isa isa);
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
  const int prefetch_bytes_;
};

}  // namespace bitjit::codegen
