// Front door of the F16 GEMV (f16_gemv_kernel.h): bitnet.cpp's one-row lm_head, whose input
// is rounded to F16 before the dot products (../shared/spec/MODEL.md).
//
//   F16Gemv gemv(n, isa);
//   F16TiledTable t = gemv.Allocate(vocab);
//   gemv.PackTiles(table, 0, t.n_tiles, &t);               // once, at load time (any split)
//   gemv.Run(t, x, round_input, row_begin, row_end, out);  // per token (any row split)
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/f16_gemv_kernel.h"

namespace bitjit::codegen {

// The table in the kernel's layout, in weight memory (codegen/memory/weight_memory.h):
// tiles of R rows (the last one padded with zero rows), each a contiguous run of n / L
// blocks; block b of a tile holds, row after row, the L halves [bL, bL + L) of its R rows.
// For kRef R = 1 and L = n: the model's own row-major layout.
struct F16TiledTable {
  int64_t n = 0, vocab = 0;
  int tile_rows = 1, block_lanes = 1;
  int64_t n_tiles = 0;
  size_t bytes = 0;
  std::shared_ptr<uint8_t[]> data;

  size_t tile_bytes() const { return static_cast<size_t>(tile_rows) * n * 2; }
  const uint16_t* tile(int64_t t) const {
    return reinterpret_cast<const uint16_t*>(data.get() + t * tile_bytes());
  }
  uint16_t* mutable_tile(int64_t t) {
    return reinterpret_cast<uint16_t*>(data.get() + t * tile_bytes());
  }
  // Half (row v, element i), the portable reading of the layout.
  uint16_t at(int64_t v, int64_t i) const;
  // Row v as floats (n of them): the embedding lookup of a tied table, so that decoding never
  // touches the model file's copy again.
  void RowToFloat(int64_t v, float* out) const;
};

class F16Gemv {
 public:
  // n: row length. Throws bitjit::Error if the CPU cannot run `isa` or n is not a multiple
  // of 16 (for kRef any n >= 1). prefetch_bytes: the kernel's software prefetch distance
  // (F16GemvKernel; ignored for kRef); none given: F16GemvKernel::DefaultPrefetchBytes.
  F16Gemv(int64_t n, Isa isa, std::optional<int> prefetch_bytes = std::nullopt);

  int tile_rows() const { return tile_rows_; }
  // The kernel's software prefetch distance in bytes (0 for kRef).
  int prefetch_bytes() const { return prefetch_bytes_; }
  // The generated kernel's name ("ref" for kRef).
  std::string KernelName() const;

  // A zeroed table of `vocab` rows in this kernel's layout.
  F16TiledTable Allocate(int64_t vocab) const;
  // The layout of such a table: every field but the data.
  F16TiledTable Shape(int64_t vocab) const;
  // A table of `vocab` rows in this kernel's layout over bytes held elsewhere (a plan's mapped
  // sidecar): Allocate(vocab).bytes of them, 64-byte aligned (throws bitjit::Error if not).
  F16TiledTable View(int64_t vocab, std::shared_ptr<uint8_t[]> bytes) const;
  // Copies tiles [tile_begin, tile_end) of the row-major `table` (vocab x n halves) into `t`.
  // Tiles own whole bytes of `t`, so disjoint tile ranges may be packed from different threads.
  void PackTiles(const uint16_t* table, int64_t tile_begin, int64_t tile_end,
                 F16TiledTable* t) const;

  // out[v] = sum_i x'[i] * table[v][i] for v in [row_begin, row_end), with
  // x' = (float)(half)x when round_input, else x. Float accumulation in the kernel's order
  // (kRef: sequential, as ref::LmHeadF16). Rows may be split across threads; splits on tile
  // boundaries (multiples of tile_rows()) avoid recomputing a shared tile.
  void Run(const F16TiledTable& t, const float* x, bool round_input, int64_t row_begin,
           int64_t row_end, float* out) const;

 private:
  // Throws bitjit::Error unless `t` was allocated by a GEMV with this row length and tile.
  void CheckLayout(const F16TiledTable& t) const;

  int64_t n_;
  Isa isa_;
  int tile_rows_ = 1, block_lanes_;
  int prefetch_bytes_ = 0;
  std::shared_ptr<const F16GemvKernel> kernel_;  // null for kRef
};

}  // namespace bitjit::codegen
