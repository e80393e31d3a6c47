#include "codegen/ref/ternary_ref.h"

#include <cstddef>
#include <vector>

namespace bitjit::ref {

void TernaryMatmulI32(const uint8_t* i2s_packed, int64_t n_rows, int64_t k_dim, const int8_t* q,
                      int64_t n_tokens, int32_t* out) {
  // Decode one weight row at a time, then reuse it for every token.
  std::vector<int8_t> w(static_cast<size_t>(k_dim));
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t k = 0; k < k_dim; ++k) w[k] = static_cast<int8_t>(I2sWeight(i2s_packed, r * k_dim + k));
    for (int64_t t = 0; t < n_tokens; ++t) {
      const int8_t* x = q + t * k_dim;
      int32_t sum = 0;
      for (int64_t k = 0; k < k_dim; ++k) sum += w[k] * x[k];
      out[t * n_rows + r] = sum;
    }
  }
}

}  // namespace bitjit::ref
