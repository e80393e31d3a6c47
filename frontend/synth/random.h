// Fast deterministic random numbers for synthetic models: xoshiro256** seeded through
// splitmix64, and standard normal samples by Marsaglia and Tsang's ziggurat (one 64-bit draw
// and a table compare for ~99% of samples). The streams are fully specified here, so a model
// synthesized from a seed is the same for every build (the ziggurat tables come from libm's exp
// and log, which glibc rounds correctly).
#pragma once

#include <cstdint>

namespace bitjit::synth {

// splitmix64 step: also a good 64-bit mixer for deriving independent seeds.
inline uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    for (uint64_t& word : s_) word = SplitMix64(seed);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in (0, 1), never 0 (the ziggurat takes its log).
  double NextOpenUnit() { return (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// Standard normal N(0, 1) samples.
class NormalSampler {
 public:
  explicit NormalSampler(uint64_t seed) : rng_(seed) {}

  float Next() {
    const uint64_t u = rng_.Next();
    // The layer comes from the low bits and the signed value from the high 32 bits, so the two
    // are independent (the original 32-bit version reused bits for both).
    const unsigned layer = u & 127;
    const int32_t h = static_cast<int32_t>(u >> 32);
    const int64_t magnitude = h < 0 ? -static_cast<int64_t>(h) : h;
    if (magnitude < kTables.k[layer]) return static_cast<float>(h * kTables.w[layer]);
    return Tail(h, layer);
  }

 private:
  struct Tables {
    int64_t k[128];
    double w[128];
    double f[128];
  };
  static const Tables kTables;
  static Tables MakeTables();

  float Tail(int32_t h, unsigned layer);

  Xoshiro256 rng_;
};

}  // namespace bitjit::synth
