#include "codegen/lmhead/f16_gemv.h"

#include <vector>

#include "codegen/jit/kernel_cache.h"
#include "ir/base/error.h"
#include "ir/base/half.h"

namespace bitjit::codegen {

F16Gemv::F16Gemv(int64_t n, Isa isa) : n_(n), isa_(ResolveIsa(isa)) {
  if (n < 1) Fail("F16 GEMV: row length ", n);
  if (isa_ == Isa::kRef) return;
  const Isa code_isa = isa_ == Isa::kAvx512 || isa_ == Isa::kAvx512Vnni ? Isa::kAvx512 : Isa::kAvx2;
  const KernelKey key{"f16_gemv", {n}, code_isa, {F16GemvKernel::kTileRows}};
  kernel_ = std::static_pointer_cast<const F16GemvKernel>(KernelCache::Global().GetOrCreate(
      key, [&] { return std::make_unique<F16GemvKernel>(n, code_isa); }));
}

void F16Gemv::Run(const uint16_t* table, const float* x, bool round_input, int64_t row_begin,
                  int64_t row_end, float* out) const {
  if (row_begin < 0 || row_begin > row_end)
    Fail("F16 GEMV: bad rows [", row_begin, ", ", row_end, ")");
  if (row_begin == row_end) return;
  std::vector<float> rounded;
  if (round_input) {
    rounded.resize(static_cast<size_t>(n_));
    for (int64_t i = 0; i < n_; ++i) rounded[i] = HalfToFloat(FloatToHalf(x[i]));
    x = rounded.data();
  }
  if (kernel_ == nullptr) {
    for (int64_t v = row_begin; v < row_end; ++v) {
      float sum = 0.0f;
      for (int64_t i = 0; i < n_; ++i) sum += x[i] * HalfToFloat(table[v * n_ + i]);
      out[v] = sum;
    }
    return;
  }
  const F16GemvArgs args{table, x, out, row_begin, row_end};
  kernel_->fn()(&args);
}

}  // namespace bitjit::codegen
