// The compiled path's attention over an f16 KV cache: a whole kv group in one call (one K/V
// conversion for all its heads; AVX2, and AVX-512 with two heads per register where the CPU
// has it) is bit-identical to calls with one head each, and all stay close to the reference
// row kernel (ref::AttentionRowF16Cache).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/ref/ref_kernels.h"
#include "ir/base/half.h"
#include "runtime/kernels/attention_f16.h"

namespace bitjit::kernels {
namespace {

struct Case {
  int n_head, n_head_kv, head_dim;
  int64_t n_kv;
  float q_scale;  // large: scores far apart, most softmax weights underflow to exactly 0
};

// The kernels' float order, written out per lane (the AVX2 one-head kernel defines it): per
// key row, 8 lane sums of fma(q, k) over the row's 8-value chunks in order, added as
// (l0+l4, l1+l5, l2+l6, l3+l7) -> (a0+a2, a1+a3) -> b0+b1, times 1/sqrt(head_dim); the
// reference softmax; then per lane out = fma(p_j, v_j, out) over the rows in order, rows with
// p_j == 0 skipped. Optimized kernels may block rows and dims any way that keeps this.
void KernelOrderModel(const float* q, const uint16_t* k, const uint16_t* v, int64_t kv_width,
                      int64_t col, int64_t n_kv, int head_dim, bool round_q, bool round_p,
                      float* out) {
  std::vector<float> qv(q, q + head_dim), scores(n_kv);
  if (round_q)
    for (float& x : qv) x = RoundToHalf(x);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  float max = -INFINITY;
  for (int64_t j = 0; j < n_kv; ++j) {
    float lane[8] = {};
    for (int i = 0; i < head_dim; ++i)
      lane[i % 8] = std::fma(qv[i], HalfToFloat(k[j * kv_width + col + i]), lane[i % 8]);
    const float a[4] = {lane[0] + lane[4], lane[1] + lane[5], lane[2] + lane[6], lane[3] + lane[7]};
    const float b[2] = {a[0] + a[2], a[1] + a[3]};
    scores[j] = (b[0] + b[1]) * scale;
    max = scores[j] > max ? scores[j] : max;
  }
  ref::SoftmaxScores(scores.data(), n_kv, max, round_p);
  for (int i = 0; i < head_dim; ++i) out[i] = 0.0f;
  for (int64_t j = 0; j < n_kv; ++j) {
    if (scores[j] == 0.0f) continue;
    for (int i = 0; i < head_dim; ++i)
      out[i] = std::fma(scores[j], HalfToFloat(v[j * kv_width + col + i]), out[i]);
  }
}

TEST(AttentionF16, GroupCallsAreBitIdenticalToOneHeadCalls) {
  if (!codegen::IsaSupported(codegen::Isa::kAvx2)) GTEST_SKIP() << "this CPU lacks AVX2";
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const Case& c :
       {Case{20, 5, 128, 1, 1.0f}, Case{20, 5, 128, 77, 1.0f}, Case{8, 2, 64, 300, 1.0f},
        Case{6, 1, 32, 40, 60.0f}, Case{16, 2, 16, 9, 1.0f}, Case{15, 5, 24, 33, 1.0f},
        Case{7, 1, 8, 12, 30.0f}, Case{20, 5, 128, 1001, 1.0f}, Case{8, 1, 128, 5, 1.0f},
        Case{12, 4, 40, 3, 1.0f}}) {
    const int group = c.n_head / c.n_head_kv;
    const int64_t kv_width = int64_t{c.n_head_kv} * c.head_dim;
    std::vector<uint16_t> k(c.n_kv * kv_width), v(c.n_kv * kv_width);
    for (auto& h : k) h = FloatToHalf(normal(rng));
    for (auto& h : v) h = FloatToHalf(normal(rng));
    std::vector<float> q(int64_t{c.n_head} * c.head_dim);
    for (float& x : q) x = normal(rng) * c.q_scale;
    for (bool round_q : {false, true}) {
      for (bool round_p : {false, true}) {
        SCOPED_TRACE("heads " + std::to_string(c.n_head) + "/" + std::to_string(c.n_head_kv) +
                     " dim " + std::to_string(c.head_dim) + " n_kv " + std::to_string(c.n_kv) +
                     " round_q " + std::to_string(round_q) + " round_p " + std::to_string(round_p));
        std::vector<float> one(q.size()), grouped(q.size()), ref(q.size());
        std::vector<float> scratch(c.n_kv * group);
        for (int h = 0; h < c.n_head; ++h) {
          const int64_t col = int64_t{h / group} * c.head_dim;
          AttentionGroupF16Avx2(&q[h * c.head_dim], 1, k.data(), v.data(), kv_width, col, c.n_kv,
                                c.head_dim, round_q, round_p, scratch.data(), &one[h * c.head_dim]);
          const ref::AttentionParams p{1, 1, c.head_dim, round_q, round_p};
          // The reference on a one-head view of this head's kv group.
          std::vector<uint16_t> kh(c.n_kv * c.head_dim), vh(c.n_kv * c.head_dim);
          for (int64_t j = 0; j < c.n_kv; ++j) {
            std::memcpy(&kh[j * c.head_dim], &k[j * kv_width + col], c.head_dim * 2);
            std::memcpy(&vh[j * c.head_dim], &v[j * kv_width + col], c.head_dim * 2);
          }
          ref::AttentionRowF16Cache(&q[h * c.head_dim], kh.data(), vh.data(), c.n_kv, p,
                                    scratch.data(), &ref[h * c.head_dim]);
        }
        for (int g = 0; g < c.n_head_kv; ++g) {
          const int64_t offset = int64_t{g} * group * c.head_dim;
          AttentionGroupF16Avx2(&q[offset], group, k.data(), v.data(), kv_width,
                                int64_t{g} * c.head_dim, c.n_kv, c.head_dim, round_q, round_p,
                                scratch.data(), &grouped[offset]);
        }
        std::vector<float> paired(q.size(), -1.0f);
        const bool avx512 = codegen::IsaSupported(codegen::Isa::kAvx512);
        if (avx512) {
          for (int g = 0; g < c.n_head_kv; ++g) {
            const int64_t offset = int64_t{g} * group * c.head_dim;
            AttentionGroupF16Avx512(&q[offset], group, k.data(), v.data(), kv_width,
                                    int64_t{g} * c.head_dim, c.n_kv, c.head_dim, round_q, round_p,
                                    scratch.data(), &paired[offset]);
          }
        }
        for (size_t i = 0; i < q.size(); ++i) {
          ASSERT_EQ(std::memcmp(&grouped[i], &one[i], 4), 0)
              << i << ": " << grouped[i] << " vs " << one[i];
          if (avx512) {
            ASSERT_EQ(std::memcmp(&paired[i], &one[i], 4), 0)
                << "avx512 " << i << ": " << paired[i] << " vs " << one[i];
          }
          ASSERT_NEAR(one[i], ref[i], 1e-3 + 2e-3 * std::fabs(ref[i])) << i;
        }
        // And the one-head calls follow the kernels' float order exactly.
        std::vector<float> model(q.size());
        for (int h = 0; h < c.n_head; ++h) {
          KernelOrderModel(&q[h * c.head_dim], k.data(), v.data(), kv_width,
                           int64_t{h / group} * c.head_dim, c.n_kv, c.head_dim, round_q, round_p,
                           &model[h * c.head_dim]);
        }
        for (size_t i = 0; i < q.size(); ++i) {
          ASSERT_EQ(std::memcmp(&one[i], &model[i], 4), 0)
              << "model " << i << ": " << one[i] << " vs " << model[i];
        }
      }
    }
  }
}

}  // namespace
}  // namespace bitjit::kernels
