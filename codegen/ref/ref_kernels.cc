#include "codegen/ref/ref_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ir/base/half.h"

namespace bitjit::ref {

double SumOfSquares(const float* x, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  return sum;
}

float RmsNormScale(double sum_of_squares, int64_t n, float eps) {
  const float mean = static_cast<float>(sum_of_squares / static_cast<double>(n));
  return 1.0f / std::sqrt(mean + eps);
}

void RmsNorm(const float* x, int64_t rows, int64_t n, float eps, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    const float scale = RmsNormScale(SumOfSquares(xr, n), n, eps);
    for (int64_t i = 0; i < n; ++i) y[r * n + i] = xr[i] * scale;
  }
}

float QuantizeRow(const float* x, int64_t n, int8_t* q) {
  double m = 0.0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(std::fabs(x[i])));
  m = std::max(m, 1e-5);
  const float s = static_cast<float>(127.0 / m);
  for (int64_t i = 0; i < n; ++i) {
    // nearbyintf rounds half to even in the default rounding mode, like bitnet.cpp's
    // "magic number" nearest_int.
    const float v = std::nearbyint(x[i] * s);
    q[i] = static_cast<int8_t>(std::clamp(v, -128.0f, 127.0f));
  }
  return s;
}

void TernaryEpilogue(const int32_t* dot, const float* act_scale, float weight_scale,
                     int64_t n_tokens, int64_t n_rows, float* y) {
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t r = 0; r < n_rows; ++r)
      y[t * n_rows + r] = static_cast<float>(dot[t * n_rows + r]) / act_scale[t] * weight_scale;
}

void RopeNeox(float* x, int64_t rows, int n_head, int head_dim, const int32_t* positions,
              float base, bool bitnet_numerics) {
  const int half = head_dim / 2;
  const float theta_scale = std::pow(base, -2.0f / static_cast<float>(head_dim));
  float* cos_t = new float[half];
  float* sin_t = new float[half];
  for (int64_t r = 0; r < rows; ++r) {
    if (bitnet_numerics) {
      float theta = static_cast<float>(positions[r]);
      for (int i = 0; i < half; ++i) {
        cos_t[i] = std::cos(theta);
        sin_t[i] = std::sin(theta);
        theta *= theta_scale;
      }
    } else {
      for (int i = 0; i < half; ++i) {
        const double theta =
            positions[r] * std::pow(static_cast<double>(base), -2.0 * i / head_dim);
        cos_t[i] = static_cast<float>(std::cos(theta));
        sin_t[i] = static_cast<float>(std::sin(theta));
      }
    }
    for (int h = 0; h < n_head; ++h) {
      float* v = x + (r * n_head + h) * head_dim;
      for (int i = 0; i < half; ++i) {
        const float x0 = v[i], x1 = v[i + half];
        v[i] = x0 * cos_t[i] - x1 * sin_t[i];
        v[i + half] = x0 * sin_t[i] + x1 * cos_t[i];
      }
    }
  }
  delete[] cos_t;
  delete[] sin_t;
}

void EmbeddingRowF16(const uint16_t* table, int64_t n, int64_t row, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = HalfToFloat(table[row * n + i]);
}

namespace {
constexpr int kQ8Block = 32;
constexpr int kQ8BlockBytes = 34;  // f16 d + 32 x int8

float Q8Scale(const uint8_t* block) {
  uint16_t d;
  std::memcpy(&d, block, 2);
  return HalfToFloat(d);
}
}  // namespace

void EmbeddingRowQ8_0(const uint8_t* table, int64_t n, int64_t row, float* out) {
  const uint8_t* blocks = table + row * (n / kQ8Block) * kQ8BlockBytes;
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const uint8_t* blk = blocks + b * kQ8BlockBytes;
    const float d = Q8Scale(blk);
    const auto* qs = reinterpret_cast<const int8_t*>(blk + 2);
    for (int i = 0; i < kQ8Block; ++i) out[b * kQ8Block + i] = d * static_cast<float>(qs[i]);
  }
}

void QuantizeRowQ8_0(const float* x, int64_t n, uint8_t* blocks) {
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const float* xb = x + b * kQ8Block;
    uint8_t* blk = blocks + b * kQ8BlockBytes;
    float amax = 0.0f;
    for (int i = 0; i < kQ8Block; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const uint16_t d = FloatToHalf(amax / 127.0f);
    std::memcpy(blk, &d, 2);
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    auto* qs = reinterpret_cast<int8_t*>(blk + 2);
    for (int i = 0; i < kQ8Block; ++i) qs[i] = static_cast<int8_t>(std::nearbyint(xb[i] * id));
  }
}

void LmHeadF16(const float* x, int64_t rows, int64_t n, const uint16_t* table, int64_t vocab,
               bool round_input, float* logits) {
  float* xin = new float[n];
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < n; ++i) xin[i] = round_input ? RoundToHalf(x[r * n + i]) : x[r * n + i];
    for (int64_t v = 0; v < vocab; ++v) {
      const uint16_t* w = table + v * n;
      float sum = 0.0f;
      for (int64_t i = 0; i < n; ++i) sum += xin[i] * HalfToFloat(w[i]);
      logits[r * vocab + v] = sum;
    }
  }
  delete[] xin;
}

void LmHeadQ8_0(const float* x, int64_t rows, int64_t n, const uint8_t* table, int64_t vocab,
                bool quantize_input, float* logits) {
  const int64_t nb = n / kQ8Block;
  uint8_t* xq = new uint8_t[nb * kQ8BlockBytes];
  float* wrow = new float[n];
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    if (quantize_input) QuantizeRowQ8_0(xr, n, xq);
    for (int64_t v = 0; v < vocab; ++v) {
      const uint8_t* wb = table + v * nb * kQ8BlockBytes;
      float sum = 0.0f;
      if (quantize_input) {
        for (int64_t b = 0; b < nb; ++b) {
          const auto* qa = reinterpret_cast<const int8_t*>(xq + b * kQ8BlockBytes + 2);
          const auto* qw = reinterpret_cast<const int8_t*>(wb + b * kQ8BlockBytes + 2);
          int32_t sumi = 0;
          for (int i = 0; i < kQ8Block; ++i) sumi += qa[i] * qw[i];
          sum += static_cast<float>(sumi) *
                 (Q8Scale(xq + b * kQ8BlockBytes) * Q8Scale(wb + b * kQ8BlockBytes));
        }
      } else {
        EmbeddingRowQ8_0(table, n, v, wrow);
        for (int64_t i = 0; i < n; ++i) sum += xr[i] * wrow[i];
      }
      logits[r * vocab + v] = sum;
    }
  }
  delete[] xq;
  delete[] wrow;
}

void SoftmaxScores(float* scores, int64_t n, float max, bool round_p) {
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    // expf of anything below -104 is +0 (under the smallest denormal); skipping the call keeps
    // the result bit for bit and avoids libm's slow underflow path, which near-hard-argmax
    // attention rows hit for most keys.
    const float d = scores[j] - max;
    scores[j] = d < -104.0f ? 0.0f : std::exp(d);
    sum += scores[j];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t j = 0; j < n; ++j) {
    scores[j] *= inv;
    if (round_p) scores[j] = RoundToHalf(scores[j]);
  }
}

namespace {

// Shared body of the two cache layouts; Load(cache, index) reads one element as float.
template <typename T, typename Load>
void AttentionRow(const float* q, const T* k_cache, const T* v_cache, int64_t n_kv,
                  const AttentionParams& p, float* scores, float* out, Load load) {
  const int D = p.head_dim;
  const int group = p.n_head / p.n_head_kv;
  const int64_t kv_width = int64_t{p.n_head_kv} * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for (int h = 0; h < p.n_head; ++h) {
    const int g = h / group;
    const float* qh = q + int64_t{h} * D;
    float qv[512];
    for (int i = 0; i < D; ++i) qv[i] = p.round_q ? RoundToHalf(qh[i]) : qh[i];
    float max = -INFINITY;
    for (int64_t j = 0; j < n_kv; ++j) {
      const T* kj = k_cache + j * kv_width + int64_t{g} * D;
      float s = 0.0f;
      for (int i = 0; i < D; ++i) s += qv[i] * load(kj, i);
      scores[j] = s * scale;
      max = std::max(max, scores[j]);
    }
    SoftmaxScores(scores, n_kv, max, p.round_p);
    float* oh = out + int64_t{h} * D;
    for (int i = 0; i < D; ++i) oh[i] = 0.0f;
    for (int64_t j = 0; j < n_kv; ++j) {
      const T* vj = v_cache + j * kv_width + int64_t{g} * D;
      for (int i = 0; i < D; ++i) oh[i] += scores[j] * load(vj, i);
    }
  }
}

}  // namespace

void AttentionRowF16Cache(const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                          int64_t n_kv, const AttentionParams& p, float* scratch, float* out) {
  AttentionRow(q, k_cache, v_cache, n_kv, p, scratch, out,
               [](const uint16_t* row, int i) { return HalfToFloat(row[i]); });
}

void AttentionRowF32Cache(const float* q, const float* k_cache, const float* v_cache, int64_t n_kv,
                          const AttentionParams& p, float* scratch, float* out) {
  AttentionRow(q, k_cache, v_cache, n_kv, p, scratch, out,
               [](const float* row, int i) { return row[i]; });
}

}  // namespace bitjit::ref
