#include "codegen/simd/attention_f16.h"

#include "codegen/simd/attention_f16_parts.h"
#include "ir/base/error.h"

namespace bitjit::kernels {

using namespace attention_parts;  // NOLINT: the kernel is written in its parts

size_t AttentionScratchFloats(int head_dim, int64_t n_ctx) {
  const int64_t stride = RoundUp(head_dim, 8);
  return static_cast<size_t>(kMaxDim + ScoresFloats(n_ctx) + (kGgmlSlots + 1) * stride);
}

BITJIT_AVX2 void AttentionHeadF16Avx2(const float* q, const uint16_t* k_cache,
                                      const uint16_t* v_cache, int64_t kv_width, int64_t col,
                                      int64_t n_kv, int head_dim, bool round_q, bool round_p,
                                      float* scratch, float* out) {
  if (head_dim <= 0 || head_dim > kMaxDim)
    Fail("attention kernel: head_dim ", head_dim, " (1..512)");
  const int d = head_dim, stride = static_cast<int>(RoundUp(d, 8));
  float* qv = scratch;
  float* scores = qv + kMaxDim;
  float* slots = scores + ScoresFloats(n_kv);
  float* reduced = slots + kGgmlSlots * stride;

  PrepareQuery(q, d, round_q, qv);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  float max = -INFINITY;
  const uint16_t* k = k_cache + col;
  for (int64_t j = 0; j < n_kv; ++j) {
    const float s =
        (round_q ? DotGgml(qv, k + j * kv_width, d) : DotTinyBlas(qv, k + j * kv_width, d)) * scale;
    scores[j] = s;
    max = s > max ? s : max;
  }
  Softmax(scores, n_kv, max, round_p);

  const uint16_t* v = v_cache + col;
  if (!round_p) {  // tinyBLAS over the n_kv positions (the padding's zeros add nothing)
    AccumulateSlots<kTinyBlasSlots>(scores, v, kv_width, n_kv, d, stride, slots);
    ReduceSlots<kTinyBlasSlots>(slots, stride, d, out);
    return;
  }
  // ggml_vec_dot_f16 over llama.cpp's padded cells: whole blocks of 64 through the slots, the
  // rest in double.
  const int64_t blocked = ref::GgmlPaddedKv(n_kv) & ~int64_t{kGgmlSlots - 1};
  const int64_t slotted = std::min(blocked, n_kv);
  if (slotted > 0) {
    AccumulateSlots<kGgmlSlots>(scores, v, kv_width, slotted, d, stride, slots);
    ReduceSlots<kGgmlSlots>(slots, stride, d, reduced);
  } else {
    for (int i = 0; i < d; ++i) reduced[i] = 0.0f;  // no whole block: the reduction is +0
  }
  DoubleTail(reduced, scores, v, kv_width, blocked, n_kv, d, out);
}

}  // namespace bitjit::kernels
