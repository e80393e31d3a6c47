#include "codegen/ternary/ternary_layout.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "codegen/memory/weight_memory.h"
#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

// Codes (0..2) of elements [first, first + count) of the flattened I2_S tensor into out[].
void DecodeI2s(const uint8_t* i2s, int64_t first, int64_t count, uint8_t* out) {
  int64_t e = first;
  const int64_t end = first + count;
  auto decode_one = [&](int64_t index) {
    const int64_t block = index / 128, j = index % 128;
    const int code = (i2s[block * 32 + j % 32] >> (6 - 2 * (j / 32))) & 3;
    return static_cast<uint8_t>(code == 3 ? 1 : code);  // code 3 reads as weight 0
  };
  // Head up to a block boundary, whole blocks (vectorizable), then the tail.
  for (; e < end && e % 128 != 0; ++e) *out++ = decode_one(e);
  for (; e + 128 <= end; e += 128, out += 128) {
    const uint8_t* block = i2s + e / 128 * 32;
    for (int g = 0; g < 4; ++g) {
      for (int b = 0; b < 32; ++b) {
        const uint8_t code = (block[b] >> (6 - 2 * g)) & 3;
        out[g * 32 + b] = code == 3 ? 1 : code;
      }
    }
  }
  for (; e < end; ++e) *out++ = decode_one(e);
}

// Packed words of n chunks from a row's codes as words (ternary_layout.h's byte p of chunk c
// is codes 16c + p, + 4, + 8, + 12 as 2-bit fields, or 20c + p, ... + 16 as base-3 digits).
// Word arithmetic packs a chunk's four bytes at once, and no byte carries into the next: codes
// are 0..2, so a 2-bit byte is at most 2 * 85 = 170 and a base-3 one 2 * 126 = 252, which is
// also EncodeBase3 byte by byte. Plain loops over strided words, which compilers vectorize.
void PackWords2Bit(const uint32_t* w, int64_t n, uint32_t* out) {
  for (int64_t c = 0; c < n; ++c) {
    out[c] = w[4 * c] | w[4 * c + 1] << 2 | w[4 * c + 2] << 4 | w[4 * c + 3] << 6;
  }
}

void PackWordsBase3(const uint32_t* w, int64_t n, uint32_t* out) {
  static_assert(kTernaryBase3Band == 86, "base-3 digit weights 1, 3, 9, 27, 86");
  for (int64_t c = 0; c < n; ++c) {
    out[c] = w[5 * c] + 3 * w[5 * c + 1] + 9 * w[5 * c + 2] + 27 * w[5 * c + 3] + 86 * w[5 * c + 4];
  }
}

// Tables of the base-3 byte code, built from EncodeBase3 so the two cannot disagree. Every
// byte of one band has the same top six bits, so the band lookups are well defined; x = 42 is
// no byte's top bits (entries stay 0).
Base3Tables MakeBase3Tables() {
  Base3Tables t = {};
  for (int v = 0; v < 243; ++v) {
    const uint8_t codes[5] = {static_cast<uint8_t>(v % 3), static_cast<uint8_t>(v / 3 % 3),
                              static_cast<uint8_t>(v / 9 % 3), static_cast<uint8_t>(v / 27 % 3),
                              static_cast<uint8_t>(v / 81)};
    const uint8_t byte = EncodeBase3(codes);
    t.top[byte >> 2] = codes[4];
    t.band[byte >> 2] = static_cast<uint8_t>(kTernaryBase3Band * codes[4]);
    t.low[byte - kTernaryBase3Band * codes[4]] =
        static_cast<uint8_t>(codes[0] | codes[1] << 2 | codes[2] << 4 | codes[3] << 6);
  }
  return t;
}

}  // namespace

const char* TernaryPackingName(TernaryPacking packing) {
  return packing == TernaryPacking::k1p6Bit ? "1.6bit" : "2bit";
}

TernaryPacking ParseTernaryPacking(const std::string& name) {
  if (name == "2bit") return TernaryPacking::k2Bit;
  if (name == "1.6bit") return TernaryPacking::k1p6Bit;
  Fail("unknown ternary packing '", name, "' (expected 2bit or 1.6bit)");
}

TernaryPacking TernaryPackingWithCodesPerByte(int codes_per_byte) {
  if (codes_per_byte == 4) return TernaryPacking::k2Bit;
  if (codes_per_byte == 5) return TernaryPacking::k1p6Bit;
  Fail("ternary weights with ", codes_per_byte, " codes per byte (expected 4 or 5)");
}

uint8_t EncodeBase3(const uint8_t codes[5]) {
  return static_cast<uint8_t>(codes[0] + 3 * codes[1] + 9 * codes[2] + 27 * codes[3] +
                              kTernaryBase3Band * codes[4]);
}

void DecodeBase3(uint8_t byte, uint8_t codes[5]) {
  codes[4] = static_cast<uint8_t>(byte / kTernaryBase3Band);
  int r = byte % kTernaryBase3Band;
  for (int j = 0; j < 4; ++j, r /= 3) codes[j] = static_cast<uint8_t>(r % 3);
}

const Base3Tables& TernaryBase3Tables() {
  static const Base3Tables tables = MakeBase3Tables();
  return tables;
}

size_t I2sCodeBytes(int64_t n_elements) {
  return static_cast<size_t>((n_elements + 127) / 128) * 32;
}

void ValidateTernaryShape(int64_t k, int64_t n, int tile_rows) {
  if (tile_rows < 8 || tile_rows > 64 || (tile_rows & (tile_rows - 1)) != 0) {
    Fail("ternary tile of ", tile_rows, " rows: must be a power of two in [8, 64]");
  }
  if (k < 1 || k > kTernaryMaxK) Fail("ternary matmul K = ", k, " outside [1, ", kTernaryMaxK, "]");
  if (n < 1 || n > (int64_t{1} << 31) - 1 - tile_rows) Fail("ternary matmul N = ", n, " too large");
}

size_t TernaryPackedBytes(int64_t k, int64_t n, int tile_rows, TernaryPacking packing) {
  ValidateTernaryShape(k, n, tile_rows);
  const int block_k = TernaryBlockK(packing);
  return static_cast<size_t>((n + tile_rows - 1) / tile_rows) *
         static_cast<size_t>((k + block_k - 1) / block_k) * 4 * tile_rows;
}

namespace {

// Every field but the data.
TernaryPackedWeights TernaryPackedShape(int64_t k, int64_t n, int tile_rows, float scale,
                                        TernaryPacking packing) {
  ValidateTernaryShape(k, n, tile_rows);
  TernaryPackedWeights w;
  w.k = k;
  w.n = n;
  w.tile_rows = tile_rows;
  w.packing = packing;
  w.n_chunks = (k + TernaryBlockK(packing) - 1) / TernaryBlockK(packing);
  w.n_tiles = (n + tile_rows - 1) / tile_rows;
  w.scale = scale;
  w.bytes = static_cast<size_t>(w.n_tiles) * w.tile_bytes();
  return w;
}

}  // namespace

TernaryPackedWeights AllocateTernaryPacked(int64_t k, int64_t n, int tile_rows, float scale,
                                           WeightArena* arena, TernaryPacking packing) {
  TernaryPackedWeights w = TernaryPackedShape(k, n, tile_rows, scale, packing);
  w.data = arena ? arena->Take(w.bytes) : AllocateWeightMemory(w.bytes);  // zeroed
  return w;
}

TernaryPackedWeights ViewTernaryPacked(int64_t k, int64_t n, int tile_rows, float scale,
                                       TernaryPacking packing, std::shared_ptr<uint8_t[]> bytes) {
  TernaryPackedWeights w = TernaryPackedShape(k, n, tile_rows, scale, packing);
  if (reinterpret_cast<uintptr_t>(bytes.get()) % kWeightAlign != 0) {
    Fail("packed ternary weights must be ", kWeightAlign, "-byte aligned");
  }
  w.data = std::move(bytes);
  return w;
}

void PackTernaryRows(const uint8_t* i2s, int64_t row_begin, int64_t row_end,
                     TernaryPackedWeights* out) {
  if (row_begin < 0 || row_end > out->n || row_begin > row_end) {
    Fail("PackTernaryRows: rows [", row_begin, ", ", row_end, ") outside [0, ", out->n, ")");
  }
  const int64_t k = out->k, r_tile = out->tile_rows, n_chunks = out->n_chunks;
  const int block_k = TernaryBlockK(out->packing);
  // A row's codes as little-endian words (byte p of word i is code 4i + p), so that one word sum
  // packs four output bytes: PackWords2Bit / PackWordsBase3. Its packed words then go to the
  // row's place in each chunk of its tile: 4 bytes every 4R. Stored straight into weight memory
  // those are one cache miss each (fresh pages), so a tile whose rows are all in the range is
  // assembled in `tile` (L1/L2-sized) and copied out whole; a tile shared with another range
  // (another thread's) gets its rows' bytes only.
  std::vector<uint32_t> words(static_cast<size_t>(n_chunks) * block_k / 4, 0);
  std::vector<uint32_t> packed(static_cast<size_t>(n_chunks));
  std::vector<uint8_t> tile(out->tile_bytes());
  auto* codes = reinterpret_cast<uint8_t*>(words.data());
  const auto pack_row = [&](int64_t row, uint8_t* tile_base) {
    DecodeI2s(i2s, row * k, k, codes);  // codes past k stay 0 (padding)
    if (out->packing == TernaryPacking::k2Bit) {
      PackWords2Bit(words.data(), n_chunks, packed.data());
    } else {
      PackWordsBase3(words.data(), n_chunks, packed.data());
    }
    uint8_t* dst = tile_base + 4 * (row % r_tile);
    for (int64_t c = 0; c < n_chunks; ++c) std::memcpy(dst + c * 4 * r_tile, &packed[c], 4);
  };
  for (int64_t row = row_begin; row < row_end;) {
    const int64_t t = row / r_tile, tile_end = std::min((t + 1) * r_tile, out->n);
    uint8_t* tile_out = out->data.get() + t * out->tile_bytes();
    if (row == t * r_tile && tile_end <= row_end) {  // the whole tile (padding rows stay 0)
      if (tile_end - row < r_tile) std::fill(tile.begin(), tile.end(), 0);
      for (; row < tile_end; ++row) pack_row(row, tile.data());
      std::memcpy(tile_out, tile.data(), tile.size());
    } else {
      for (const int64_t end = std::min(tile_end, row_end); row < end; ++row)
        pack_row(row, tile_out);
    }
  }
}

TernaryPackedWeights PackTernaryWeights(const uint8_t* i2s, int64_t k, int64_t n, float scale,
                                        int tile_rows, TernaryPacking packing) {
  TernaryPackedWeights w = AllocateTernaryPacked(k, n, tile_rows, scale, nullptr, packing);
  PackTernaryRows(i2s, 0, n, &w);
  return w;
}

}  // namespace bitjit::codegen
