#include "codegen/ref/ggml_float_order.h"

#include <cmath>

namespace bitjit::ref {

float ReduceAdd16(const float* lanes) {
  float t[8];
  for (int i = 0; i < 8; ++i) t[i] = lanes[i] + lanes[i + 8];
  for (int i = 0; i < 4; ++i) t[i] = t[i] + t[i + 4];
  for (int i = 0; i < 2; ++i) t[i] = t[i] + t[i + 2];
  return t[0] + t[1];
}

float GgmlDotF16(const float* x, const float* y, int64_t n) {
  const int64_t blocked = n & ~int64_t{63};
  float acc[4][16] = {};
  for (int64_t i = 0; i < blocked; i += 64)
    for (int a = 0; a < 4; ++a)
      for (int l = 0; l < 16; ++l)
        acc[a][l] = std::fma(x[i + 16 * a + l], y[i + 16 * a + l], acc[a][l]);
  for (int l = 0; l < 16; ++l) {
    acc[0][l] = acc[0][l] + acc[2][l];
    acc[1][l] = acc[1][l] + acc[3][l];
  }
  for (int l = 0; l < 16; ++l) acc[0][l] = acc[0][l] + acc[1][l];
  double sum = ReduceAdd16(acc[0]);
  // The product of two f16 values is exact in float; ggml adds it in double.
  for (int64_t i = blocked; i < n; ++i) sum += static_cast<double>(x[i] * y[i]);
  return static_cast<float>(sum);
}

float TinyBlasDot16(const float* a, const float* b, int64_t n) {
  float lanes[16] = {};
  for (int64_t i = 0; i < n; ++i) lanes[i % 16] = std::fma(a[i], b[i], lanes[i % 16]);
  return ReduceAdd16(lanes);
}

float GgmlExpf(float x) {
  // exp(x) = 2^n * e^b with n = round(x / ln 2) (by the 1.5 * 2^23 trick) and b = x - n ln 2
  // in two parts; e^b by a degree-5 polynomial; 2^n applied by scalef.
  const float r = 0x1.8p23f;
  const float z = std::fma(x, 0x1.715476p+0f, r);
  const float n = z - r;
  if (std::isnan(n)) return n;
  const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
  if (std::fabs(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;  // also x = -inf (masked)
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                                    std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                           u, std::fma(0x1.ffffecp-1f, b, 1.0f));
  return std::ldexp(j, static_cast<int>(n));  // vscalefps: one rounding, also into subnormals
}

int64_t GgmlPaddedKv(int64_t n_kv) {
  constexpr int64_t kPad = 32;
  return n_kv <= kPad ? kPad : (n_kv + kPad - 1) / kPad * kPad;
}

}  // namespace bitjit::ref
