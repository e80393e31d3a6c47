#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <map>

namespace bitjit {
namespace {

TEST(Sampler, GreedyTiesGoToLowestId) {
  std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f};
  EXPECT_EQ(Sampler::Greedy(logits), 1);
  SamplerParams p;
  p.temperature = 0;
  EXPECT_EQ(Sampler(p).Sample(logits), 1);
}

TEST(Sampler, RepetitionPenaltyMovesGreedyChoice) {
  std::vector<float> logits = {2.0f, 1.9f, -1.0f};
  SamplerParams p;
  p.temperature = 0;
  p.repeat_penalty = 1.5f;
  Sampler s(p);
  s.Remember(std::vector<int32_t>{0});
  EXPECT_EQ(s.Sample(logits), 1);  // 2.0 / 1.5 < 1.9
}

TEST(Sampler, TopKOneIsGreedy) {
  std::vector<float> logits = {0.1f, 0.5f, 0.4f, 0.45f};
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 1;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  Sampler s(p);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(s.Sample(logits), 1);
}

TEST(Sampler, SeedMakesSamplingReproducibleAndFiltersHold) {
  std::vector<float> logits = {0.0f, 1.0f, 2.0f, 3.0f, -10.0f};
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.1f;  // drops ids whose prob < 10% of the best: ids 0 and 4
  p.seed = 42;
  Sampler a(p), b(p);
  std::map<int, int> counts;
  for (int i = 0; i < 2000; ++i) {
    const int32_t x = a.Sample(logits);
    EXPECT_EQ(x, b.Sample(logits));
    ++counts[x];
  }
  EXPECT_EQ(counts.count(0), 0u);
  EXPECT_EQ(counts.count(4), 0u);
  EXPECT_GT(counts[3], counts[2]);
  EXPECT_GT(counts[2], counts[1]);
  EXPECT_GT(counts[1], 0);
}

TEST(Sampler, TopPKeepsSmallestSetReachingP) {
  std::vector<float> logits = {5.0f, 0.0f, 0.0f, 0.0f};  // p(0) ~ 0.98
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 0.9f;
  p.min_p = 0.0f;
  Sampler s(p);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(s.Sample(logits), 0);
}

}  // namespace
}  // namespace bitjit
