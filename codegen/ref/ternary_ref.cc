#include "codegen/ref/ternary_ref.h"

namespace bitjit::ref {

void TernaryMatmulI32(const uint8_t* i2s_packed, int64_t n_rows, int64_t k_dim, const int8_t* q,
                      int64_t n_tokens, int32_t* out) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    const int8_t* x = q + t * k_dim;
    for (int64_t r = 0; r < n_rows; ++r) {
      int32_t sum = 0;
      for (int64_t k = 0; k < k_dim; ++k) sum += I2sWeight(i2s_packed, r * k_dim + k) * x[k];
      out[t * n_rows + r] = sum;
    }
  }
}

}  // namespace bitjit::ref
