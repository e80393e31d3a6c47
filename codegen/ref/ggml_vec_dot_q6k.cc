#include "codegen/ref/ggml_vec_dot_q6k.h"

#include <cmath>
#include <cstring>

#include "codegen/lmhead/q6k_format.h"
#include "ir/base/half.h"

namespace bitjit::ref {

float GgmlVecDotQ6K_Q8K(const uint8_t* q6k_row, const uint8_t* q8k, int64_t nb) {
  namespace q6k = codegen::q6k;
  float acc[8] = {};
  uint8_t q[q6k::kBlock];
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = q6k_row + b * q6k::kBlockBytes;
    const uint8_t* xb = q8k + b * q6k::kQ8KBlockBytes;
    const auto* scales = reinterpret_cast<const int8_t*>(blk + q6k::kScalesOffset);
    const auto* xq = reinterpret_cast<const int8_t*>(xb + q6k::kQ8KQsOffset);
    float dx;
    std::memcpy(&dx, xb, sizeof dx);
    uint16_t dh;
    std::memcpy(&dh, blk + q6k::kDOffset, sizeof dh);
    q6k::UnpackQ6_K(blk, q);
    int32_t lanes[8] = {};
    for (int i = 0; i < q6k::kBlock; ++i)
      lanes[(i % 32) / 4] += scales[i / 16] * ((int32_t{q[i]} - 32) * xq[i]);
    const float d = dx * HalfToFloat(dh);
    for (int l = 0; l < 8; ++l) acc[l] = std::fma(d, static_cast<float>(lanes[l]), acc[l]);
  }
  for (int width = 4; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) acc[l] = acc[l] + acc[l + width];
  return acc[0];
}

}  // namespace bitjit::ref
