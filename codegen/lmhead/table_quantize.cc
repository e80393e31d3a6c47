#include "codegen/lmhead/table_quantize.h"

#include <emmintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "codegen/lmhead/q6k_format.h"
#include "ir/base/half.h"

namespace bitjit::lm_head {
namespace {

namespace q6k = codegen::q6k;

constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS

using q6k::NearestInt;

// ggml's make_qx_quants(n, nmax, x, L, rmse_type = 1, qw = NULL): the first pass
// at iscale = -nmax/max, then 18 candidates -(nmax + 0.1·is)/max (is = -9..9, not 0) of which
// the one with the best weighted fit replaces it. Each candidate's sums keep ggml's float
// operation order (so the chosen scale is the same to the bit), but all 19 are accumulated in
// one pass over x, 4 candidates per SSE2 vector: the Q6_K table of the 2B model has 20 million
// groups (2.4 times faster than one candidate at a time).
float MakeQxQuants(int n, int nmax, const float* x, int8_t* L) {
  constexpr int kCandidates = 19, kLanes = 20;  // a 20th lane (unused) makes 5 vectors of 4
  float max = 0.0f, amax = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  float iscales[kLanes];
  iscales[0] = iscales[kCandidates] = static_cast<float>(-nmax) / max;
  for (int c = 1, is = -9; c < kCandidates; ++c, ++is) {
    if (is == 0) ++is;
    iscales[c] = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
  }
  // SSE2 (every x86-64 CPU has it): the compiler does not vectorize the float clamps itself.
  const __m128 lo = _mm_set1_ps(static_cast<float>(-nmax)), hi = _mm_set1_ps(nmax - 1.0f);
  const __m128 magic = _mm_set1_ps(12582912.0f);  // 1.5·2^23
  __m128 lx[kLanes / 4], l2[kLanes / 4];
  for (int k = 0; k < kLanes / 4; ++k) lx[k] = l2[k] = _mm_setzero_ps();
  for (int i = 0; i < n; ++i) {
    const float w = x[i] * x[i];
    const __m128 xi = _mm_set1_ps(x[i]), wi = _mm_set1_ps(w), wxi = _mm_set1_ps(w * x[i]);
    for (int k = 0; k < kLanes / 4; ++k) {
      // l = (float)clamp(nearest_int(iscale·x), -nmax, nmax-1): clamping to the integer bounds
      // before rounding is the same, and adding and removing 1.5·2^23 is nearest_int's round
      // half to even. Then ggml's sumlx += (w·x)·l and suml2 += (w·l)·l.
      const __m128 v =
          _mm_min_ps(_mm_max_ps(_mm_mul_ps(_mm_loadu_ps(iscales + 4 * k), xi), lo), hi);
      const __m128 l = _mm_sub_ps(_mm_add_ps(v, magic), magic);
      lx[k] = _mm_add_ps(lx[k], _mm_mul_ps(wxi, l));
      l2[k] = _mm_add_ps(l2[k], _mm_mul_ps(_mm_mul_ps(wi, l), l));
    }
  }
  float sumlx[kLanes], suml2[kLanes];
  for (int k = 0; k < kLanes / 4; ++k) {
    _mm_storeu_ps(sumlx + 4 * k, lx[k]);
    _mm_storeu_ps(suml2 + 4 * k, l2[k]);
  }
  // ggml's sequential choice: a candidate replaces the current one when it fits better.
  int chosen = 0;
  float scale = suml2[0] != 0.0f ? sumlx[0] / suml2[0] : 0.0f;
  float best = scale * sumlx[0];
  for (int c = 1; c < kCandidates; ++c) {
    if (suml2[c] > 0.0f && sumlx[c] * sumlx[c] > best * suml2[c]) {
      chosen = c;
      scale = sumlx[c] / suml2[c];
      best = scale * sumlx[c];
    }
  }
  for (int i = 0; i < n; ++i) {
    const int l = NearestInt(iscales[chosen] * x[i]);
    L[i] = static_cast<int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, l)));
  }
  return scale;
}

}  // namespace

void QuantizeRowQ6_K(const float* x, int64_t n, uint8_t* blocks) {
  int8_t L[q6k::kBlock];
  float scales[q6k::kGroups];
  for (int64_t b = 0; b < n / q6k::kBlock; ++b, x += q6k::kBlock) {
    uint8_t* blk = blocks + b * q6k::kBlockBytes;
    float max_scale = 0.0f, max_abs_scale = 0.0f;
    for (int g = 0; g < q6k::kGroups; ++g) {
      scales[g] = MakeQxQuants(16, 32, x + 16 * g, L + 16 * g);
      if (std::fabs(scales[g]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[g]);
        max_scale = scales[g];
      }
    }
    std::memset(blk, 0, q6k::kBlockBytes);  // an all-zero block stays zero (d = 0)
    if (max_abs_scale < kGroupMaxEps) continue;
    const float iscale = -128.0f / max_scale;
    const uint16_t dh = FloatToHalf(1.0f / iscale);
    std::memcpy(blk + q6k::kDOffset, &dh, 2);
    auto* sc = reinterpret_cast<int8_t*>(blk + q6k::kScalesOffset);
    for (int g = 0; g < q6k::kGroups; ++g)
      sc[g] = static_cast<int8_t>(std::min(127, NearestInt(iscale * scales[g])));
    for (int g = 0; g < q6k::kGroups; ++g) {
      const float d = HalfToFloat(dh) * static_cast<float>(sc[g]);
      if (d == 0.0f) continue;  // keeps make_qx_quants' quants, as ggml does
      for (int i = 0; i < 16; ++i) {
        const int l = NearestInt(x[16 * g + i] / d);
        L[16 * g + i] = static_cast<int8_t>(std::max(-32, std::min(31, l)) + 32);
      }
    }
    uint8_t q[q6k::kBlock];
    for (int i = 0; i < q6k::kBlock; ++i) q[i] = static_cast<uint8_t>(L[i]);
    q6k::PackQ6_K(q, blk);
  }
}

// ggml's quantize_row_q8_0_ref, the table quantizer: q = roundf(x * (1/d)). Not
// ref::QuantizeRowQ8_0, which is the activation path's (x * 127/amax, half to even): the two
// round differently in the last bit, and each mirrors its own ggml function.
void QuantizeRowQ8_0Table(const float* x, int64_t n, uint8_t* blocks) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* xb = x + b * 32;
    uint8_t* blk = blocks + b * 34;
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = FloatToHalf(d);
    std::memcpy(blk, &dh, 2);
    auto* qs = reinterpret_cast<int8_t*>(blk + 2);
    for (int i = 0; i < 32; ++i) qs[i] = static_cast<int8_t>(std::round(xb[i] * id));
  }
}

}  // namespace bitjit::lm_head
