// Portable reference kernels for every IR op, with bitnet.cpp's roundings (see
// ../shared/spec/MODEL.md, "bitnet.cpp's numerics") or plain float32. These define what each
// op computes: the interpreter runs them, and every optimized kernel is tested against them.
#pragma once

#include <cstdint>

namespace bitjit::ref {

// y = x * (1.0f / sqrtf(mean + eps)) per row of n; sum of float squares accumulated in double.
void RmsNorm(const float* x, int64_t rows, int64_t n, float eps, float* y);
// RmsNorm's two halves, for kernels that compute the sums another way: a row's float squares
// summed in double one after another, and the factor y = x * scale that such a sum gives.
double SumOfSquares(const float* x, int64_t n);
float RmsNormScale(double sum_of_squares, int64_t n, float eps);

// Per-row absmax int8 quantization: m = max(1e-5, max|x|) in double, s = (float)(127 / m),
// q = clamp(round_half_even(x * s), -128, 127). Returns s.
float QuantizeRow(const float* x, int64_t n, int8_t* q);

// y[t][r] = (float)dot[t][r] / act_scale[t] * weight_scale.
void TernaryEpilogue(const int32_t* dot, const float* act_scale, float weight_scale,
                     int64_t n_tokens, int64_t n_rows, float* y);

// NEOX rotary embedding in place on rows of n_head * head_dim. bitnet numerics use ggml's
// float32 angle recurrence theta_i = theta_(i-1) * powf(base, -2/D); f32 numerics compute
// pos * base^(-2i/D) in double. bitnet numerics rotate with fused multiply-adds as bitnet.cpp's
// build does (fma(x0, cos, -(x1 sin)), fma(x0, sin, x1 cos)).
void RopeNeox(float* x, int64_t rows, int n_head, int head_dim, const int32_t* positions,
              float base, bool bitnet_numerics);
// RopeNeox's halves: the head_dim / 2 angles' cos and sin of one position, and the rotation of
// one row of n_head heads by them.
void RopeAngles(int32_t position, int head_dim, float base, bool bitnet_numerics, float* cos_t,
                float* sin_t);
void RopeNeoxRotate(float* x, int n_head, int head_dim, const float* cos_t, const float* sin_t,
                    bool bitnet_numerics);
// The NORM rotation (llama): pairs (2i, 2i + 1) by angle i, with the same fused multiply-adds.
void RopeNormRotate(float* x, int n_head, int head_dim, const float* cos_t, const float* sin_t,
                    bool bitnet_numerics);

// ggml_vec_silu_f32 as bitnet.cpp's AVX-512 build computes it: x / (1 + GgmlExpf(-x)).
float Silu(float x);

// One row of an embedding table as f32.
void EmbeddingRowF16(const uint16_t* table, int64_t n, int64_t row, float* out);
void EmbeddingRowQ8_0(const uint8_t* table, int64_t n, int64_t row, float* out);
// ggml's dequantize_row_q6_K (n a multiple of 256).
void EmbeddingRowQ6_K(const uint8_t* table, int64_t n, int64_t row, float* out);

// Q8_0 quantization of an activation row (blocks of 32: d = fp16(amax/127), q = round half
// to even of x * 127/amax), as ggml quantizes the lm_head input for a Q8_0 table.
void QuantizeRowQ8_0(const float* x, int64_t n, uint8_t* blocks);

// logits[r][v] = x[r] . table[v]. F16 table: with round_input the input is rounded to f16
// first (bitnet.cpp's one-row path). Q8_0 table: with quantize_input the input is quantized
// to Q8_0 (bitnet.cpp), else the table is dequantized and multiplied in f32.
void LmHeadF16(const float* x, int64_t rows, int64_t n, const uint16_t* table, int64_t vocab,
               bool round_input, float* logits);
void LmHeadQ8_0(const float* x, int64_t rows, int64_t n, const uint8_t* table, int64_t vocab,
                bool quantize_input, float* logits);
// Q6_K table (bitnet.cpp's --quant-embd): with quantize_input the input is quantized to Q8_K
// and each row dotted as ggml_vec_dot_q6_K_q8_K (ggml_vec_dot_q6k.h), else the table is
// dequantized and multiplied in f32.
void LmHeadQ6_K(const float* x, int64_t rows, int64_t n, const uint8_t* table, int64_t vocab,
                bool quantize_input, float* logits);

// ggml's softmax of attention scores in place: e = ggml's expf(s - max), summed 16 lanes at a
// time into a double, then scaled by (float)(1 / sum); with round_p the result is rounded to
// f16 (bitnet.cpp's decode). `max` is the scores' maximum.
void SoftmaxScores(float* scores, int64_t n, float max, bool round_p);

// Causal attention of one query row against positions 0..n_kv-1 of a KV cache stored as f16
// rows of width kv_width (= n_head_kv * head_dim), in bitnet.cpp's roundings and order of
// additions (codegen/ref/ggml_float_order.h). round_q: q goes to f16 and KQ is
// ggml_vec_dot_f16, else q stays f32 and KQ is tinyBLAS's. round_p: the softmax output goes
// to f16 and P.V is ggml_vec_dot_f16 over llama.cpp's padded cells (decode), else tinyBLAS's.
struct AttentionParams {
  int n_head, n_head_kv, head_dim;
  bool round_q, round_p;
};
// What bitnet.cpp does for a query row of a model with these heads, in a one-token (decode)
// or a prompt batch.
AttentionParams BitnetAttentionParams(int n_head, int n_head_kv, int head_dim, bool decode);
void AttentionRowF16Cache(const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                          int64_t n_kv, const AttentionParams& p, float* scores, float* out);
// The same over an f32 cache (plain float32 numerics: sums in sequence, no roundings).
void AttentionRowF32Cache(const float* q, const float* k_cache, const float* v_cache, int64_t n_kv,
                          const AttentionParams& p, float* scores, float* out);

}  // namespace bitjit::ref
