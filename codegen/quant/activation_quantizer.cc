#include "codegen/quant/activation_quantizer.h"

#include "codegen/jit/kernel_cache.h"
#include "codegen/ref/ref_kernels.h"
#include "ir/base/error.h"

namespace bitjit::codegen {

ActivationQuantizer::ActivationQuantizer(int64_t k, Isa isa) : k_(k), isa_(ResolveIsa(isa)) {
  if (k < 1) Fail("ActivationQuantizer: K = ", k);
  if (isa_ == Isa::kRef) return;
  // VNNI changes nothing here: key by the vector width only, so variants share code.
  const Isa code_isa = IsAvx512Isa(isa_) ? Isa::kAvx512 : Isa::kAvx2;
  const KernelKey key{"quantize_absmax_i8", {k}, code_isa, {}};
  kernel_ = std::static_pointer_cast<const QuantizeKernel>(KernelCache::Global().GetOrCreate(
      key, [&] { return std::make_unique<QuantizeKernel>(k, code_isa); }));
}

void ActivationQuantizer::Run(const float* x, int64_t rows, int8_t* q, float* scale,
                              int32_t* q_sum) const {
  if (rows <= 0) return;
  if (kernel_ == nullptr) {
    for (int64_t r = 0; r < rows; ++r) {
      scale[r] = ref::QuantizeRow(x + r * k_, k_, q + r * k_);
      if (q_sum == nullptr) continue;
      int32_t sum = 0;
      for (int64_t i = 0; i < k_; ++i) sum += q[r * k_ + i];
      q_sum[r] = sum;
    }
    return;
  }
  const QuantizeArgs args{x, q, scale, q_sum, rows};
  kernel_->fn()(&args);
}

std::string ActivationQuantizer::KernelName() const {
  return kernel_ ? kernel_->name() : "ref";
}

}  // namespace bitjit::codegen
