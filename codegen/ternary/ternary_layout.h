// The weight layout the ternary JIT kernels read, and the one-time repacking from I2_S.
//
// Why repack: in I2_S (../shared/spec/FORMAT.md) a row's 2-bit codes are spread over 128-value
// blocks of the flattened tensor, rows need not start on a block, and code 3 may occur. The
// kernels want one vector load to hold the codes of many *rows* for the same few k, so that a
// single broadcast of 4 activation bytes feeds a whole vector of output rows, with no
// horizontal reduction at the end (vpdpbusd / vpmaddubsw multiply 4 adjacent bytes of a dword
// lane with 4 adjacent bytes of the other operand).
//
// Layout "R-row tiles, 16-k chunks" (R = tile_rows, a power of two >= 8):
//   * Rows are grouped into tiles of R rows; the last tile is padded up to R rows.
//   * K is cut into chunks of 16; the last chunk is padded up to 16.
//   * Tile t, chunk s is a block of 4R bytes at offset (t * n_chunks + s) * 4R: a tile's chunks
//     are contiguous, so streaming a row range is one linear walk.
//   * In that block, byte 4i + p (row i of the tile, p = 0..3) holds in bits 2j..2j+1 the code
//     of row t*R + i at k = 16s + 4j + p, for j = 0..3.
//   So dword lane i of any vector loaded from the block belongs to row i (a 64-byte zmm load
//   covers 16 rows, a ymm load 8), its 4 bytes are 4 consecutive k, and bit pair j selects
//   which quad of k: (v >> 2j) & 3 per byte gives the codes of k-quad j.
//   * Codes are c = w + 1 in {0, 1, 2}. I2_S code 3 (never written, read as 0) becomes 1.
//   * Padding (k >= K or row >= N) holds code 0, which adds 0 to sum c*q whatever the
//     activation byte is. Kernels compute dot = sum_k c*q - sum_{k<K} q (the sum over real k
//     only), so padding never contributes.
//
// Layout "R-row tiles, 20-k blocks, base 3" (TernaryPacking::k1p6Bit, 5 codes per byte):
// decode streams every weight once per token, so 1.6 bits instead of 2 cut its DRAM traffic by
// a fifth; the price is a table lookup per byte, which AVX-512 VBMI makes cheap.
//   * Tiles, padding and addressing as above, with blocks of 20 k in place of chunks of 16:
//     tile t, block s at offset (t * n_chunks + s) * 4R, byte 4i + p for row t*R + i.
//   * The byte holds the codes c_j of k = 20s + 4j + p, j = 0..4, as
//       r + 86 * c_4  with  r = c_0 + 3 c_1 + 9 c_2 + 27 c_3  (0..80).
//     So plane j multiplies the 4 activation bytes at 20s + 4j, as chunk quads do above.
//   * Why 86 and not 81: the three bands [0, 80], [86, 166], [172, 252] stay apart in the
//     byte's top six bits (byte >> 2 is 0..20, 21..41, 43..63), so one 64-entry lookup on
//     byte >> 2 gives the band (86 * c_4, or c_4), and a 128-entry lookup on byte - 86 c_4
//     gives c_0..c_3 as the 2-bit layout's byte (c_0 | c_1 << 2 | c_2 << 4 | c_3 << 6).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace bitjit::codegen {

inline constexpr int kTernaryChunkK = 16;       // k values per chunk (2 bits)
inline constexpr int kTernaryBase3BlockK = 20;  // k values per block (1.6 bits)
inline constexpr int kTernaryBase3Band = 86;    // byte = r + 86 * c_4

enum class TernaryPacking {
  k2Bit,    // 4 codes per byte, 16-k chunks
  k1p6Bit,  // 5 codes per byte in base 3, 20-k blocks
};

// "2bit", "1.6bit"; ParseTernaryPacking is the inverse (bitjit::Error naming the choices).
const char* TernaryPackingName(TernaryPacking packing);
TernaryPacking ParseTernaryPacking(const std::string& name);

// Codes per byte: 4 or 5; and the packing with that many (bitjit::Error for other counts).
inline int TernaryCodesPerByte(TernaryPacking packing) {
  return packing == TernaryPacking::k1p6Bit ? 5 : 4;
}
TernaryPacking TernaryPackingWithCodesPerByte(int codes_per_byte);

// K values per chunk / block of the packing: 16 or 20.
inline int TernaryBlockK(TernaryPacking packing) {
  return packing == TernaryPacking::k1p6Bit ? kTernaryBase3BlockK : kTernaryChunkK;
}

// The base-3 byte of codes c[0..4] (each 0..2), and back.
uint8_t EncodeBase3(const uint8_t codes[5]);
void DecodeBase3(uint8_t byte, uint8_t codes[5]);

// The kernels' lookup tables for 1.6-bit bytes b (ternary_layout.cc fills them from
// EncodeBase3): by (b >> 2) & 63, the band 86 * c_4 and c_4; by r = b - 86 * c_4 (0..127),
// the 2-bit layout's byte of c_0..c_3.
struct Base3Tables {
  uint8_t band[64];
  uint8_t top[64];
  uint8_t low[128];
};
const Base3Tables& TernaryBase3Tables();

// Largest K the kernels accept: keeps every partial sum (the VNNI GEMV keeps bit pair j
// scaled by 4^j, i.e. up to 64 * 2 * 128 * K/4) and every activation offset inside int32.
inline constexpr int64_t kTernaryMaxK = int64_t{1} << 18;

class WeightArena;

// A repacked ternary weight matrix (ne = [k, n] in GGUF terms: n rows of k weights).
struct TernaryPackedWeights {
  int64_t k = 0;      // inner (input) dimension
  int64_t n = 0;      // rows (outputs)
  int tile_rows = 0;  // R
  TernaryPacking packing = TernaryPacking::k2Bit;
  int64_t n_chunks = 0;  // ceil(k / TernaryBlockK(packing)): chunks or blocks per tile
  int64_t n_tiles = 0;   // ceil(n / R)
  float scale = 0.0f;    // per-tensor weight scale (real weight = w * scale)
  size_t bytes = 0;      // n_tiles * n_chunks * 4R
  // 64-byte aligned weight memory (codegen/memory/weight_memory.h), shared with the arena
  // it came from.
  std::shared_ptr<uint8_t[]> data;

  size_t tile_bytes() const { return static_cast<size_t>(n_chunks) * 4 * tile_rows; }
  const uint8_t* tile(int64_t t) const { return data.get() + t * tile_bytes(); }
};

// Bytes of packed codes an I2_S tensor of `n_elements` occupies (whole 32-byte blocks, not
// counting the trailing scale): ceil(n_elements / 128) * 32.
size_t I2sCodeBytes(int64_t n_elements);

// Allocates a zeroed (all padding) packed matrix. Throws bitjit::Error on bad dimensions:
// k, n >= 1, k <= kTernaryMaxK, n < 2^31 - R, tile_rows a power of two in [8, 64].
// Throws bitjit::Error unless (k, n, tile_rows) is a shape the layout can hold.
void ValidateTernaryShape(int64_t k, int64_t n, int tile_rows);

// Bytes of the packed matrix: ceil(n / R) * ceil(k / block k) * 4R.
size_t TernaryPackedBytes(int64_t k, int64_t n, int tile_rows,
                          TernaryPacking packing = TernaryPacking::k2Bit);

// A zeroed (all padding) packed matrix in weight memory: a piece of `arena` when given (sized
// with WeightArena::Footprint(TernaryPackedBytes(...)) per matrix), else its own mapping.
TernaryPackedWeights AllocateTernaryPacked(int64_t k, int64_t n, int tile_rows, float scale,
                                           WeightArena* arena = nullptr,
                                           TernaryPacking packing = TernaryPacking::k2Bit);

// Repacks rows [row_begin, row_end) of the I2_S codes `i2s` (an [k, n] tensor, I2sCodeBytes(k*n)
// readable bytes) into `out`. Rows own whole bytes of the packed layout, so disjoint row ranges
// may be packed from different threads.
void PackTernaryRows(const uint8_t* i2s, int64_t row_begin, int64_t row_end,
                     TernaryPackedWeights* out);

// The packed matrix over `bytes` that someone else holds (a plan's mapped sidecar): at least
// TernaryPackedBytes(...) readable bytes, kWeightAlign-aligned (throws bitjit::Error if not).
// Shares ownership of them; the kernels only read packed weights.
TernaryPackedWeights ViewTernaryPacked(int64_t k, int64_t n, int tile_rows, float scale,
                                       TernaryPacking packing, std::shared_ptr<uint8_t[]> bytes);

// AllocateTernaryPacked + PackTernaryRows over all rows.
TernaryPackedWeights PackTernaryWeights(const uint8_t* i2s, int64_t k, int64_t n, float scale,
                                        int tile_rows,
                                        TernaryPacking packing = TernaryPacking::k2Bit);

// Weight (-1, 0, +1) at (row, k) of the packed matrix: the portable reading of the layout.
inline int PackedTernaryWeight(const TernaryPackedWeights& w, int64_t row, int64_t k) {
  const int block_k = TernaryBlockK(w.packing);
  const int64_t tile = row / w.tile_rows, i = row % w.tile_rows;
  const int64_t chunk = k / block_k, j = (k % block_k) / 4, p = k % 4;
  const uint8_t byte = w.data[(tile * w.n_chunks + chunk) * 4 * w.tile_rows + 4 * i + p];
  if (w.packing == TernaryPacking::k2Bit) return ((byte >> (2 * j)) & 3) - 1;
  uint8_t codes[5];
  DecodeBase3(byte, codes);
  return codes[j] - 1;
}

}  // namespace bitjit::codegen
