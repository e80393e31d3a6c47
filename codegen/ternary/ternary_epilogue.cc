#include "codegen/ternary/ternary_epilogue.h"

namespace bitjit::codegen {

void TernaryEpilogueRows(const int32_t* dot, int64_t ld_dot, const int32_t* q_sum,
                         const float* q_scale, float weight_scale, int64_t n_tokens,
                         int64_t row_begin, int64_t row_end, float* y, int64_t ld_y) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = row_begin; r < row_end; ++r) {
      y[t * ld_y + r] = TernaryEpilogue(dot[t * ld_dot + r], q_sum[t], q_scale[t], weight_scale);
    }
  }
}

}  // namespace bitjit::codegen
