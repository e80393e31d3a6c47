#include "codegen/lmhead/q6k_gemv.h"

#include <cmath>
#include <cstring>

#include "codegen/jit/kernel_cache.h"
#include "codegen/lmhead/q6k_format.h"
#include "ir/base/error.h"
#include "ir/base/half.h"

namespace bitjit::codegen {
namespace {

// The kernel's arithmetic in portable code: per block, int32 lane l = -32·(s_2l·bsum_2l +
// s_2l+1·bsum_2l+1) + sum over the 8 vectors of 32 quants of s_group · q · x over bytes
// 4l..4l+3; then per-lane FMA over the blocks and the pairwise lane reduction.
float KernelOrderDot(const uint8_t* row, const uint8_t* x, int64_t nb) {
  float lanes[8] = {};
  uint8_t q[q6k::kBlock];
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = row + b * q6k::kBlockBytes;
    const uint8_t* xb = x + b * q6k::kQ8KBlockBytes;
    const auto* sc = reinterpret_cast<const int8_t*>(blk + q6k::kScalesOffset);
    const auto* xq = reinterpret_cast<const int8_t*>(xb + q6k::kQ8KQsOffset);
    int16_t bsums[q6k::kGroups];
    std::memcpy(bsums, xb + q6k::kQ8KBsumsOffset, sizeof bsums);
    float dx;
    std::memcpy(&dx, xb, sizeof dx);
    uint16_t dh;
    std::memcpy(&dh, blk + q6k::kDOffset, 2);
    q6k::UnpackQ6_K(blk, q);
    int32_t lane_int[8];
    for (int l = 0; l < 8; ++l)
      lane_int[l] = -32 * (sc[2 * l] * bsums[2 * l] + sc[2 * l + 1] * bsums[2 * l + 1]);
    for (int v = 0; v < q6k::kBlock; v += 32) {
      for (int j = 0; j < 32; ++j) {
        const int i = v + j;
        lane_int[j / 4] += sc[i / 16] * (int32_t{q[i]} * xq[i]);
      }
    }
    const float scale = HalfToFloat(dh) * dx;
    for (int l = 0; l < 8; ++l)
      lanes[l] = std::fma(static_cast<float>(lane_int[l]), scale, lanes[l]);
  }
  for (int width = 4; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) lanes[l] = lanes[l] + lanes[l + width];
  return lanes[0];
}

}  // namespace

Q6KGemv::Q6KGemv(int64_t n, Isa isa) : n_(n), isa_(ResolveIsa(isa)) {
  if (n < q6k::kBlock || n % q6k::kBlock != 0)
    Fail("Q6_K GEMV: row length ", n, " is not a multiple of 256");
  if (isa_ == Isa::kRef) return;
  const bool ternlog = IsAvx512Isa(isa_);
  const KernelKey key{"q6k_gemv", {n}, ternlog ? Isa::kAvx512 : Isa::kAvx2, {1}};
  kernel_ = std::static_pointer_cast<const Q6KGemvKernel>(KernelCache::Global().GetOrCreate(
      key, [&] { return std::make_unique<Q6KGemvKernel>(n, ternlog); }));
}

size_t Q6KGemv::InputBytes() const {
  return static_cast<size_t>(n_ / q6k::kBlock) * q6k::kQ8KBlockBytes;
}

void Q6KGemv::PrepareInput(const float* x, uint8_t* input) const {
  q6k::QuantizeRowQ8_K(x, n_, input);
}

void Q6KGemv::Run(const uint8_t* table, const uint8_t* input, int64_t row_begin, int64_t row_end,
                  float* out) const {
  if (row_begin < 0 || row_begin > row_end)
    Fail("Q6_K GEMV: bad rows [", row_begin, ", ", row_end, ")");
  if (row_begin == row_end) return;
  if (kernel_ == nullptr) {
    const int64_t nb = n_ / q6k::kBlock;
    for (int64_t v = row_begin; v < row_end; ++v)
      out[v] = KernelOrderDot(table + v * nb * q6k::kBlockBytes, input, nb);
    return;
  }
  const Q6KGemvArgs args{table, input, out, row_begin, row_end};
  kernel_->fn()(&args);
}

}  // namespace bitjit::codegen
