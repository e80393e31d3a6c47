#include "frontend/synth/random.h"

#include <cmath>

namespace bitjit::synth {

// Marsaglia and Tsang, "The Ziggurat Method for Generating Random Variables" (2000), 128 layers.
// r is where the base layer's tail starts; v the area of each layer.
namespace {
constexpr double kR = 3.442619855899;
constexpr double kV = 9.91256303526217e-3;
constexpr double kM = 2147483648.0;  // 2^31: scale of the signed 32-bit draw
}  // namespace

NormalSampler::Tables NormalSampler::MakeTables() {
  Tables t{};
  double d = kR, prev = kR;
  const double q = kV / std::exp(-0.5 * d * d);
  t.k[0] = static_cast<int64_t>((d / q) * kM);
  t.k[1] = 0;
  t.w[0] = q / kM;
  t.w[127] = d / kM;
  t.f[0] = 1.0;
  t.f[127] = std::exp(-0.5 * d * d);
  for (int i = 126; i >= 1; --i) {
    d = std::sqrt(-2.0 * std::log(kV / d + std::exp(-0.5 * d * d)));
    t.k[i + 1] = static_cast<int64_t>((d / prev) * kM);
    prev = d;
    t.f[i] = std::exp(-0.5 * d * d);
    t.w[i] = d / kM;
  }
  return t;
}

const NormalSampler::Tables NormalSampler::kTables = NormalSampler::MakeTables();

float NormalSampler::Tail(int32_t h, unsigned layer) {
  for (;;) {
    const double x = h * kTables.w[layer];
    if (layer == 0) {  // beyond r: sample the exponential-dominated tail
      double tx, ty;
      do {
        tx = -std::log(rng_.NextOpenUnit()) / kR;
        ty = -std::log(rng_.NextOpenUnit());
      } while (ty + ty < tx * tx);
      return static_cast<float>(h > 0 ? kR + tx : -kR - tx);
    }
    // Wedge between layers: accept under the density.
    const double y =
        kTables.f[layer] + rng_.NextOpenUnit() * (kTables.f[layer - 1] - kTables.f[layer]);
    if (y < std::exp(-0.5 * x * x)) return static_cast<float>(x);
    const uint64_t u = rng_.Next();
    layer = u & 127;
    h = static_cast<int32_t>(u >> 32);
    const int64_t magnitude = h < 0 ? -static_cast<int64_t>(h) : h;
    if (magnitude < kTables.k[layer]) return static_cast<float>(h * kTables.w[layer]);
  }
}

}  // namespace bitjit::synth
