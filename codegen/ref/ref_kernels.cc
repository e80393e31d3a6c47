#include "codegen/ref/ref_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "codegen/lmhead/q6k_format.h"
#include "codegen/ref/ggml_float_order.h"
#include "codegen/ref/ggml_vec_dot_q6k.h"
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

// A rounded value as int8, saturating; NaN (from inf or NaN activations, which a model's or a
// plan's extreme values can produce) becomes 0: converting NaN or an out-of-range float to an
// integer is undefined behaviour (UBSan, plan_fuzz).
static int8_t SaturateToInt8(float v) {
  if (std::isnan(v)) return 0;
  return static_cast<int8_t>(std::clamp(v, -128.0f, 127.0f));
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
    q[i] = SaturateToInt8(v);
  }
  return s;
}

void TernaryEpilogue(const int32_t* dot, const float* act_scale, float weight_scale,
                     int64_t n_tokens, int64_t n_rows, float* y) {
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t r = 0; r < n_rows; ++r)
      y[t * n_rows + r] = static_cast<float>(dot[t * n_rows + r]) / act_scale[t] * weight_scale;
}

void RopeAngles(int32_t position, int head_dim, float base, bool bitnet_numerics, float* cos_t,
                float* sin_t) {
  const int half = head_dim / 2;
  if (bitnet_numerics) {
    const float theta_scale = std::pow(base, -2.0f / static_cast<float>(head_dim));
    float theta = static_cast<float>(position);
    for (int i = 0; i < half; ++i) {
      cos_t[i] = std::cos(theta);
      sin_t[i] = std::sin(theta);
      theta *= theta_scale;
    }
  } else {
    for (int i = 0; i < half; ++i) {
      const double theta = position * std::pow(static_cast<double>(base), -2.0 * i / head_dim);
      cos_t[i] = static_cast<float>(std::cos(theta));
      sin_t[i] = static_cast<float>(std::sin(theta));
    }
  }
}

void RopeNeoxRotate(float* x, int n_head, int head_dim, const float* cos_t, const float* sin_t,
                    bool bitnet_numerics) {
  const int half = head_dim / 2;
  for (int h = 0; h < n_head; ++h) {
    float* v = x + int64_t{h} * head_dim;
    for (int i = 0; i < half; ++i) {
      const float x0 = v[i], x1 = v[i + half];
      // bitnet.cpp's build (clang, FMA) contracts each expression into one fused multiply-
      // add: x0*c - x1*s becomes fma(x0, c, -(x1*s)) and x0*s + x1*c becomes fma(x0, s, x1*c).
      // Plain products round once more and flip later f16 roundings.
      if (bitnet_numerics) {
        v[i] = std::fma(x0, cos_t[i], -(x1 * sin_t[i]));
        v[i + half] = std::fma(x0, sin_t[i], x1 * cos_t[i]);
      } else {
        v[i] = x0 * cos_t[i] - x1 * sin_t[i];
        v[i + half] = x0 * sin_t[i] + x1 * cos_t[i];
      }
    }
  }
}

void RopeNormRotate(float* x, int n_head, int head_dim, const float* cos_t, const float* sin_t,
                    bool bitnet_numerics) {
  for (int h = 0; h < n_head; ++h) {
    float* v = x + int64_t{h} * head_dim;
    for (int i = 0; i < head_dim / 2; ++i) {
      const float x0 = v[2 * i], x1 = v[2 * i + 1];
      if (bitnet_numerics) {  // fused as in RopeNeoxRotate
        v[2 * i] = std::fma(x0, cos_t[i], -(x1 * sin_t[i]));
        v[2 * i + 1] = std::fma(x0, sin_t[i], x1 * cos_t[i]);
      } else {
        v[2 * i] = x0 * cos_t[i] - x1 * sin_t[i];
        v[2 * i + 1] = x0 * sin_t[i] + x1 * cos_t[i];
      }
    }
  }
}

float Silu(float x) {
  return x / (1.0f + GgmlExpf(0.0f - x));
}

void RopeNeox(float* x, int64_t rows, int n_head, int head_dim, const int32_t* positions,
              float base, bool bitnet_numerics) {
  std::vector<float> cos_t(head_dim / 2), sin_t(head_dim / 2);
  for (int64_t r = 0; r < rows; ++r) {
    RopeAngles(positions[r], head_dim, base, bitnet_numerics, cos_t.data(), sin_t.data());
    RopeNeoxRotate(x + r * n_head * head_dim, n_head, head_dim, cos_t.data(), sin_t.data(),
                   bitnet_numerics);
  }
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

void EmbeddingRowQ6_K(const uint8_t* table, int64_t n, int64_t row, float* out) {
  const int64_t row_bytes = n / codegen::q6k::kBlock * codegen::q6k::kBlockBytes;
  codegen::q6k::DequantizeRowQ6_K(table + row * row_bytes, n, out);
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
    for (int i = 0; i < kQ8Block; ++i) qs[i] = SaturateToInt8(std::nearbyint(xb[i] * id));
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

void LmHeadQ6_K(const float* x, int64_t rows, int64_t n, const uint8_t* table, int64_t vocab,
                bool quantize_input, float* logits) {
  namespace q6k = codegen::q6k;
  const int64_t nb = n / q6k::kBlock, row_bytes = nb * q6k::kBlockBytes;
  std::vector<uint8_t> xq(static_cast<size_t>(nb * q6k::kQ8KBlockBytes));
  std::vector<float> wrow(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    if (quantize_input) q6k::QuantizeRowQ8_K(xr, n, xq.data());
    for (int64_t v = 0; v < vocab; ++v) {
      float sum = 0.0f;
      if (quantize_input) {
        sum = GgmlVecDotQ6K_Q8K(table + v * row_bytes, xq.data(), nb);
      } else {
        EmbeddingRowQ6_K(table, n, v, wrow.data());
        for (int64_t i = 0; i < n; ++i) sum += xr[i] * wrow[i];
      }
      logits[r * vocab + v] = sum;
    }
  }
}

void SoftmaxScores(float* scores, int64_t n, float max, bool round_p) {
  // ggml_vec_soft_max_f32: ggml's expf 16 lanes at a time, each block's sum added into a
  // double (llama.cpp pads n_kv to 32, so there is no scalar tail: a short block reads as
  // padded with the masked cells' zeros).
  double sum = 0.0;
  for (int64_t b = 0; b < n; b += 16) {
    float e[16] = {};
    for (int64_t l = 0; l < 16 && b + l < n; ++l) {
      // Below -105, ggml's expf gives +0 (2^-152 and less rounds to zero); skipping it keeps
      // near-hard-argmax rows cheap.
      const float d = scores[b + l] - max;
      e[l] = scores[b + l] = d < -105.0f ? 0.0f : GgmlExpf(d);
    }
    sum += ReduceAdd16(e);
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t j = 0; j < n; ++j) {
    scores[j] *= inv;
    if (round_p) scores[j] = RoundToHalf(scores[j]);
  }
}

AttentionParams BitnetAttentionParams(int n_head, int n_head_kv, int head_dim, bool decode) {
  // A prompt batch's q is contiguous only with one head; tinyBLAS then takes it as f32 when
  // head_dim % 16 == 0. Every other case converts q to f16 for ggml_vec_dot_f16.
  const bool tinyblas_q = !decode && n_head == 1 && head_dim % 16 == 0;
  return {n_head, n_head_kv, head_dim, /*round_q=*/!tinyblas_q, /*round_p=*/decode};
}

void AttentionRowF16Cache(const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                          int64_t n_kv, const AttentionParams& p, float* scores, float* out) {
  const int D = p.head_dim;
  const int group = p.n_head / p.n_head_kv;
  const int64_t kv_width = int64_t{p.n_head_kv} * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  // The P.V products run over the cells llama.cpp shows (padding included) in decode, where
  // ggml_vec_dot_f16 blocks them by 64; tinyBLAS's lanes do not depend on the padding.
  const int64_t n_cells = p.round_p ? GgmlPaddedKv(n_kv) : n_kv;
  std::vector<float> qv(D), row(std::max<int64_t>(D, n_cells)), weights(n_cells, 0.0f);
  for (int h = 0; h < p.n_head; ++h) {
    const int64_t col = int64_t{h / group} * D;
    for (int i = 0; i < D; ++i) qv[i] = p.round_q ? RoundToHalf(q[h * D + i]) : q[h * D + i];
    float max = -INFINITY;
    for (int64_t j = 0; j < n_kv; ++j) {
      for (int i = 0; i < D; ++i) row[i] = HalfToFloat(k_cache[j * kv_width + col + i]);
      // KQ: src0 = K rows, src1 = q.
      const float s = p.round_q ? GgmlDotF16(row.data(), qv.data(), D)
                                : TinyBlasDot16(row.data(), qv.data(), D);
      scores[j] = s * scale;
      max = std::max(max, scores[j]);
    }
    SoftmaxScores(scores, n_kv, max, p.round_p);
    std::copy(scores, scores + n_kv, weights.begin());
    // KQV: src0 = the transposed V cache (one row of cells per dim), src1 = the weights.
    for (int i = 0; i < D; ++i) {
      std::fill(row.begin(), row.end(), 0.0f);
      for (int64_t j = 0; j < n_kv; ++j) row[j] = HalfToFloat(v_cache[j * kv_width + col + i]);
      out[h * D + i] = p.round_p ? GgmlDotF16(row.data(), weights.data(), n_cells)
                                 : TinyBlasDot16(row.data(), weights.data(), n_kv);
    }
  }
}

void AttentionRowF32Cache(const float* q, const float* k_cache, const float* v_cache, int64_t n_kv,
                          const AttentionParams& p, float* scores, float* out) {
  // Plain float32 numerics: no bitnet.cpp order to follow, sums one after another.
  const int D = p.head_dim;
  const int group = p.n_head / p.n_head_kv;
  const int64_t kv_width = int64_t{p.n_head_kv} * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for (int h = 0; h < p.n_head; ++h) {
    const float* qh = q + int64_t{h} * D;
    const int64_t col = int64_t{h / group} * D;
    float max = -INFINITY;
    for (int64_t j = 0; j < n_kv; ++j) {
      const float* kj = k_cache + j * kv_width + col;
      float s = 0.0f;
      for (int i = 0; i < D; ++i) s += qh[i] * kj[i];
      scores[j] = s * scale;
      max = std::max(max, scores[j]);
    }
    SoftmaxScores(scores, n_kv, max, /*round_p=*/false);
    float* oh = out + int64_t{h} * D;
    for (int i = 0; i < D; ++i) oh[i] = 0.0f;
    for (int64_t j = 0; j < n_kv; ++j) {
      const float* vj = v_cache + j * kv_width + col;
      for (int i = 0; i < D; ++i) oh[i] += scores[j] * vj[i];
    }
  }
}

}  // namespace bitjit::ref
