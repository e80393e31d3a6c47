#include "tools/q6k_fused_quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "codegen/lmhead/q6k_format.h"
#include "ir/base/half.h"

namespace bitjit::cli {
namespace {

namespace q6k = codegen::q6k;
using q6k::NearestInt;

constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS

struct Fit {
  float sumlx = 0, suml2 = 0;
};

// One candidate's weighted sums, fused as clang compiles them. std::fma is exact everywhere;
// the "fma" target makes it one instruction on CPUs that have it (a 2B table is ~10^10 of them).
Fit FitAt(const float* x, int n, int nmax, float iscale) {
  Fit f;
  for (int i = 0; i < n; ++i) {
    const int l = std::max(-nmax, std::min(nmax - 1, NearestInt(iscale * x[i])));
    const float w = x[i] * x[i], fl = static_cast<float>(l);
    f.sumlx = std::fma(w * x[i], fl, f.sumlx);
    f.suml2 = std::fma(w * fl, fl, f.suml2);
  }
  return f;
}
__attribute__((target("fma"))) Fit FitAtFma(const float* x, int n, int nmax, float iscale) {
  Fit f;
  for (int i = 0; i < n; ++i) {
    const int l = std::max(-nmax, std::min(nmax - 1, NearestInt(iscale * x[i])));
    const float w = x[i] * x[i], fl = static_cast<float>(l);
    f.sumlx = __builtin_fmaf(w * x[i], fl, f.sumlx);
    f.suml2 = __builtin_fmaf(w * fl, fl, f.suml2);
  }
  return f;
}

Fit FitOf(const float* x, int n, int nmax, float iscale) {
  static const bool has_fma = __builtin_cpu_supports("fma");
  return has_fma ? FitAtFma(x, n, nmax, iscale) : FitAt(x, n, nmax, iscale);
}

// ggml's make_qx_quants(n, nmax, x, L, rmse_type 1, no weights), with the fused sums.
float MakeQxQuants(int n, int nmax, const float* x, int8_t* L) {
  float max = 0.0f, amax = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t{0});
    return 0.0f;
  }
  float best_iscale = static_cast<float>(-nmax) / max;
  Fit fit = FitOf(x, n, nmax, best_iscale);
  float scale = fit.suml2 != 0.0f ? fit.sumlx / fit.suml2 : 0.0f;
  float best = scale * fit.sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const float iscale = -std::fma(0.1f, static_cast<float>(is), static_cast<float>(nmax)) / max;
    const Fit f = FitOf(x, n, nmax, iscale);
    if (f.suml2 > 0 && f.sumlx * f.sumlx > best * f.suml2) {
      best_iscale = iscale;
      scale = f.sumlx / f.suml2;
      best = scale * f.sumlx;
    }
  }
  for (int i = 0; i < n; ++i) {
    const int l = NearestInt(best_iscale * x[i]);
    L[i] = static_cast<int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, l)));
  }
  return scale;
}

}  // namespace

void QuantizeRowQ6_KFused(const float* x, int64_t n, uint8_t* blocks) {
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

}  // namespace bitjit::cli
