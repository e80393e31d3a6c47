#include "codegen/lmhead/q8_0_gemv.h"

#include <cmath>
#include <cstring>

#include "codegen/jit/kernel_cache.h"
#include "codegen/ref/ref_kernels.h"
#include "ir/base/error.h"
#include "ir/base/half.h"

namespace bitjit::codegen {
namespace {

constexpr int kBlock = Q8_0GemvKernel::kBlock;
constexpr int kGroup = Q8_0GemvKernel::kGroup;
constexpr int kGgmlBlockBytes = 34;

size_t Align64(size_t bytes) {
  return (bytes + 63) / 64 * 64;
}

// The prepared input: [quants][|quants|][scales as floats][ggml Q8_0 blocks], each part 64-byte
// aligned within the buffer; quants and scales zero-padded to the row's padded blocks.
struct InputLayout {
  size_t abs, scales, blocks, total;
  explicit InputLayout(int64_t n) {
    const size_t nbp = static_cast<size_t>(Q8_0Gemv::PaddedBlocks(n));
    abs = Align64(nbp * kBlock);
    scales = abs + Align64(nbp * kBlock);
    blocks = scales + Align64(nbp * sizeof(float));
    total = blocks + Align64(static_cast<size_t>(n / kBlock) * kGgmlBlockBytes);
  }
};

// The kernel's arithmetic in portable code: exact block sums, lane j of the accumulator takes
// the blocks j, j + 8, ... with FMA, then the pairwise lane reduction.
float KernelOrderDot(const uint8_t* row, const int8_t* xq, const float* xd, int64_t nbp) {
  const auto* dw = row;
  const auto* qw = reinterpret_cast<const int8_t*>(row + 2 * nbp);
  float lanes[kGroup] = {};
  for (int64_t b = 0; b < nbp; ++b) {
    int32_t sum = 0;
    for (int i = 0; i < kBlock; ++i) sum += int32_t{qw[b * kBlock + i]} * xq[b * kBlock + i];
    uint16_t d;
    std::memcpy(&d, dw + 2 * b, 2);
    lanes[b % kGroup] =
        std::fma(static_cast<float>(sum), HalfToFloat(d) * xd[b], lanes[b % kGroup]);
  }
  for (int width = kGroup / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) lanes[l] = lanes[l] + lanes[l + width];
  return lanes[0];
}

}  // namespace

int64_t Q8_0Gemv::PaddedBlocks(int64_t n) {
  return (n / kBlock + kGroup - 1) / kGroup * kGroup;
}

size_t Q8_0Gemv::RowBytes(int64_t n) {
  return static_cast<size_t>(PaddedBlocks(n)) * (kBlock + 2);
}

void Q8_0Gemv::PackRow(const uint8_t* ggml_blocks, int64_t n, uint8_t* row) {
  const int64_t nb = n / kBlock, nbp = PaddedBlocks(n);
  std::memset(row, 0, RowBytes(n));
  for (int64_t b = 0; b < nb; ++b) {
    std::memcpy(row + 2 * b, ggml_blocks + b * kGgmlBlockBytes, 2);
    std::memcpy(row + 2 * nbp + b * kBlock, ggml_blocks + b * kGgmlBlockBytes + 2, kBlock);
  }
}

Q8_0Gemv::Q8_0Gemv(int64_t n, Isa isa) : n_(n), isa_(ResolveIsa(isa)) {
  if (n < kBlock || n % kBlock != 0) Fail("Q8_0 GEMV: row length ", n, " is not a multiple of 32");
  if (isa_ == Isa::kRef) return;
  const KernelKey key{"q8_0_gemv", {n}, Isa::kAvx2, {1, kGroup}};
  kernel_ = std::static_pointer_cast<const Q8_0GemvKernel>(
      KernelCache::Global().GetOrCreate(key, [&] { return std::make_unique<Q8_0GemvKernel>(n); }));
}

size_t Q8_0Gemv::InputBytes() const {
  return InputLayout(n_).total;
}

void Q8_0Gemv::PrepareInput(const float* x, uint8_t* input) const {
  const InputLayout layout(n_);
  const int64_t nb = n_ / kBlock, nbp = PaddedBlocks(n_);
  uint8_t* blocks = input + layout.blocks;
  ref::QuantizeRowQ8_0(x, n_, blocks);
  auto* xq = reinterpret_cast<int8_t*>(input);
  uint8_t* xa = input + layout.abs;
  auto* xd = reinterpret_cast<float*>(input + layout.scales);
  std::memset(xq, 0, nbp * kBlock);
  std::memset(xd, 0, nbp * sizeof(float));
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = blocks + b * kGgmlBlockBytes;
    uint16_t d;
    std::memcpy(&d, blk, 2);
    xd[b] = HalfToFloat(d);
    std::memcpy(xq + b * kBlock, blk + 2, kBlock);
  }
  for (int64_t i = 0; i < nbp * kBlock; ++i) xa[i] = static_cast<uint8_t>(std::abs(int{xq[i]}));
}

void Q8_0Gemv::Run(const uint8_t* table, const uint8_t* input, int64_t row_begin, int64_t row_end,
                   float* out) const {
  if (row_begin < 0 || row_begin > row_end)
    Fail("Q8_0 GEMV: bad rows [", row_begin, ", ", row_end, ")");
  if (row_begin == row_end) return;
  const InputLayout layout(n_);
  const auto* xq = reinterpret_cast<const int8_t*>(input);
  const auto* xd = reinterpret_cast<const float*>(input + layout.scales);
  if (kernel_ == nullptr) {
    const size_t row_bytes = RowBytes(n_);
    for (int64_t v = row_begin; v < row_end; ++v)
      out[v] = KernelOrderDot(table + v * row_bytes, xq, xd, PaddedBlocks(n_));
    return;
  }
  const Q8_0GemvArgs args{table, xq, input + layout.abs, xd, out, row_begin, row_end};
  kernel_->fn()(&args);
}

}  // namespace bitjit::codegen
