#include "codegen/lmhead/f16_gemv.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "codegen/jit/kernel_cache.h"
#include "codegen/memory/weight_memory.h"
#include "ir/base/error.h"
#include "ir/base/half.h"

namespace bitjit::codegen {

uint16_t F16TiledTable::at(int64_t v, int64_t i) const {
  const int64_t r = v % tile_rows, block = i / block_lanes, l = i % block_lanes;
  return tile(v / tile_rows)[(block * tile_rows + r) * block_lanes + l];
}

void F16TiledTable::RowToFloat(int64_t v, float* out) const {
  if (v < 0 || v >= vocab) Fail("F16 table: row ", v, " outside [0, ", vocab, ")");
  for (int64_t i = 0; i < n; ++i) out[i] = HalfToFloat(at(v, i));
}

F16Gemv::F16Gemv(int64_t n, Isa isa, std::optional<int> prefetch)
    : n_(n), isa_(ResolveIsa(isa)), block_lanes_(static_cast<int>(n)) {
  if (n < 1) Fail("F16 GEMV: row length ", n);
  if (isa_ == Isa::kRef) return;
  const Isa code_isa = IsAvx512Isa(isa_) ? Isa::kAvx512 : Isa::kAvx2;
  const int prefetch_bytes = prefetch.value_or(F16GemvKernel::DefaultPrefetchBytes(code_isa));
  prefetch_bytes_ = prefetch_bytes;
  tile_rows_ = F16GemvKernel::TileRows(code_isa);
  block_lanes_ = F16GemvKernel::BlockLanes(code_isa);
  const KernelKey key{"f16_gemv", {n}, code_isa, {tile_rows_, block_lanes_, prefetch_bytes}};
  kernel_ = std::static_pointer_cast<const F16GemvKernel>(KernelCache::Global().GetOrCreate(
      key, [&] { return std::make_unique<F16GemvKernel>(n, code_isa, prefetch_bytes); }));
}

void F16Gemv::CheckLayout(const F16TiledTable& t) const {
  if (t.n != n_ || t.tile_rows != tile_rows_ || t.block_lanes != block_lanes_)
    Fail("F16 GEMV: table was laid out for another kernel");
}

F16TiledTable F16Gemv::Shape(int64_t vocab) const {
  if (vocab < 1 || vocab > (int64_t{1} << 31)) Fail("F16 GEMV: ", vocab, " rows");
  F16TiledTable t;
  t.n = n_;
  t.vocab = vocab;
  t.tile_rows = tile_rows_;
  t.block_lanes = block_lanes_;
  t.n_tiles = (vocab + tile_rows_ - 1) / tile_rows_;
  t.bytes = static_cast<size_t>(t.n_tiles) * t.tile_bytes();
  return t;
}

F16TiledTable F16Gemv::Allocate(int64_t vocab) const {
  F16TiledTable t = Shape(vocab);
  t.data = AllocateWeightMemory(t.bytes);  // zeroed: padding rows add nothing
  return t;
}

F16TiledTable F16Gemv::View(int64_t vocab, std::shared_ptr<uint8_t[]> bytes) const {
  F16TiledTable t = Shape(vocab);
  if (reinterpret_cast<uintptr_t>(bytes.get()) % kWeightAlign != 0) {
    Fail("F16 GEMV: the table must be ", kWeightAlign, "-byte aligned");
  }
  t.data = std::move(bytes);
  return t;
}

void F16Gemv::PackTiles(const uint16_t* table, int64_t tile_begin, int64_t tile_end,
                        F16TiledTable* t) const {
  CheckLayout(*t);
  if (tile_begin < 0 || tile_begin > tile_end || tile_end > t->n_tiles)
    Fail("F16 GEMV: tiles [", tile_begin, ", ", tile_end, ") outside [0, ", t->n_tiles, ")");
  const int64_t R = tile_rows_;
  // The block copy's size a constant where the kernels' L allows (one or two vector moves
  // instead of a call to memcpy per 16 or 32 bytes: a gigabyte table has 40 million blocks).
  const auto pack = [&](auto lanes) {
    const int64_t L = lanes;
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
      uint16_t* dst = t->mutable_tile(tile);
      const int64_t rows = std::min(R, t->vocab - tile * R);
      for (int64_t b = 0; b < n_ / L; ++b) {
        for (int64_t r = 0; r < rows; ++r) {
          std::memcpy(dst + (b * R + r) * L, table + (tile * R + r) * n_ + b * L,
                      static_cast<size_t>(L) * sizeof(uint16_t));
        }
      }
    }
  };
  switch (block_lanes_) {
    case 16:
      pack(std::integral_constant<int64_t, 16>());
      break;
    case 8:
      pack(std::integral_constant<int64_t, 8>());
      break;
    default:
      pack(int64_t{block_lanes_});
  }
}

void F16Gemv::Run(const F16TiledTable& t, const float* x, bool round_input, int64_t row_begin,
                  int64_t row_end, float* out) const {
  if (row_begin < 0 || row_begin > row_end || row_end > t.vocab)
    Fail("F16 GEMV: bad rows [", row_begin, ", ", row_end, ") of ", t.vocab);
  CheckLayout(t);
  if (row_begin == row_end) return;
  std::vector<float> rounded;
  if (round_input) {
    rounded.resize(static_cast<size_t>(n_));
    for (int64_t i = 0; i < n_; ++i) rounded[i] = HalfToFloat(FloatToHalf(x[i]));
    x = rounded.data();
  }
  if (kernel_ == nullptr) {  // kRef: row-major, sequential sums
    for (int64_t v = row_begin; v < row_end; ++v) {
      const uint16_t* row = t.tile(v);
      float sum = 0.0f;
      for (int64_t i = 0; i < n_; ++i) sum += x[i] * HalfToFloat(row[i]);
      out[v] = sum;
    }
    return;
  }
  // Whole tiles straight into out; a tile cut by row_begin or row_end through a scratch.
  const int64_t R = tile_rows_;
  const int64_t first_full = (row_begin + R - 1) / R, end_full = row_end / R;
  auto partial = [&](int64_t tile) {
    float scratch[64];
    const F16GemvArgs args{t.tile(tile), x, scratch, 1};
    kernel_->fn()(&args);
    for (int64_t v = std::max(row_begin, tile * R); v < std::min(row_end, (tile + 1) * R); ++v)
      out[v] = scratch[v - tile * R];
  };
  if (first_full > end_full) {  // inside one tile
    partial(row_begin / R);
    return;
  }
  if (row_begin % R != 0) partial(row_begin / R);
  if (end_full > first_full) {
    const F16GemvArgs args{t.tile(first_full), x, out + first_full * R, end_full - first_full};
    kernel_->fn()(&args);
  }
  if (row_end % R != 0) partial(end_full);
}

std::string F16Gemv::KernelName() const {
  return kernel_ ? kernel_->name() : "ref";
}

}  // namespace bitjit::codegen
