#include "codegen/lmhead/q6k_format.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ir/base/half.h"

namespace bitjit::codegen::q6k {

void QuantizeRowQ8_K(const float* x, int64_t n, uint8_t* blocks) {
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const float* xb = x + b * kBlock;
    uint8_t* blk = blocks + b * kQ8KBlockBytes;
    auto* qs = reinterpret_cast<int8_t*>(blk + kQ8KQsOffset);
    float max = 0.0f, amax = 0.0f;
    for (int i = 0; i < kBlock; ++i) {
      if (std::fabs(xb[i]) > amax) {
        amax = std::fabs(xb[i]);
        max = xb[i];
      }
    }
    float d = 0.0f;
    if (amax == 0.0f) {
      std::memset(qs, 0, kBlock);
    } else {
      const float iscale = -127.0f / max;
      for (int i = 0; i < kBlock; ++i)
        qs[i] = static_cast<int8_t>(std::min(127, NearestInt(iscale * xb[i])));
      d = 1.0f / iscale;
    }
    std::memcpy(blk, &d, sizeof d);
    for (int g = 0; g < kGroups; ++g) {
      int16_t sum = 0;
      for (int i = 0; i < 16; ++i) sum = static_cast<int16_t>(sum + qs[16 * g + i]);
      std::memcpy(blk + kQ8KBsumsOffset + 2 * g, &sum, 2);
    }
  }
}

void UnpackQ6_K(const uint8_t* block, uint8_t* q) {
  const uint8_t* ql = block + kQlOffset;
  const uint8_t* qh = block + kQhOffset;
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t lo0 = ql[64 * h + l], lo1 = ql[64 * h + 32 + l], hi = qh[32 * h + l];
      q[128 * h + l] = static_cast<uint8_t>((lo0 & 0xF) | ((hi & 3) << 4));
      q[128 * h + 32 + l] = static_cast<uint8_t>((lo1 & 0xF) | (((hi >> 2) & 3) << 4));
      q[128 * h + 64 + l] = static_cast<uint8_t>((lo0 >> 4) | (((hi >> 4) & 3) << 4));
      q[128 * h + 96 + l] = static_cast<uint8_t>((lo1 >> 4) | (((hi >> 6) & 3) << 4));
    }
  }
}

void PackQ6_K(const uint8_t* q, uint8_t* block) {
  uint8_t* ql = block + kQlOffset;
  uint8_t* qh = block + kQhOffset;
  for (int h = 0; h < 2; ++h) {
    const uint8_t* qq = q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      ql[64 * h + l] = static_cast<uint8_t>((qq[l] & 0xF) | ((qq[l + 64] & 0xF) << 4));
      ql[64 * h + 32 + l] = static_cast<uint8_t>((qq[l + 32] & 0xF) | ((qq[l + 96] & 0xF) << 4));
      qh[32 * h + l] = static_cast<uint8_t>((qq[l] >> 4) | ((qq[l + 32] >> 4) << 2) |
                                            ((qq[l + 64] >> 4) << 4) | ((qq[l + 96] >> 4) << 6));
    }
  }
}

void DequantizeRowQ6_K(const uint8_t* blocks, int64_t n, float* y) {
  uint8_t q[kBlock];
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const uint8_t* blk = blocks + b * kBlockBytes;
    uint16_t dh;
    std::memcpy(&dh, blk + kDOffset, 2);
    const float d = HalfToFloat(dh);
    const auto* sc = reinterpret_cast<const int8_t*>(blk + kScalesOffset);
    UnpackQ6_K(blk, q);
    for (int i = 0; i < kBlock; ++i) y[b * kBlock + i] = d * sc[i / 16] * (q[i] - 32);
  }
}

}  // namespace bitjit::codegen::q6k
