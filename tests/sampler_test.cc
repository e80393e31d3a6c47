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

// llama.cpp's arithmetic: a token seen c times in the window loses c * frequency + presence,
// after the repeat penalty; tokens outside the window and unseen tokens keep their logits.
TEST(Sampler, FrequencyAndPresencePenaltiesSubtractPerOccurrenceAndOnce) {
  const std::vector<float> logits = {2.0f, 1.0f, -1.0f, 0.5f};
  SamplerParams p;
  p.temperature = 0;
  p.repeat_penalty = 2.0f;
  p.frequency_penalty = 0.25f;
  p.presence_penalty = 0.5f;
  p.repeat_last_n = 4;
  Sampler s(p);
  s.Remember(std::vector<int32_t>{3, 0, 0, 2, 0});  // the window keeps 0, 0, 2, 0
  const std::vector<float> got = s.Penalized(logits);
  EXPECT_FLOAT_EQ(got[0], 2.0f / 2 - 3 * 0.25f - 0.5f);
  EXPECT_FLOAT_EQ(got[1], 1.0f);
  EXPECT_FLOAT_EQ(got[2], -1.0f * 2 - 1 * 0.25f - 0.5f);
  EXPECT_FLOAT_EQ(got[3], 0.5f);  // fell out of the window
}

TEST(Sampler, FrequencyPenaltyGrowsWithRepeatsPresencePenaltyDoesNot) {
  const std::vector<float> logits = {2.0f, 1.7f, 0.0f};
  SamplerParams p;
  p.temperature = 0;
  {
    // Seen twice: 2.0 - 2 * 0.2 = 1.6 < 1.7; once: 1.8 > 1.7.
    p.frequency_penalty = 0.2f;
    Sampler twice(p), once(p);
    twice.Remember(std::vector<int32_t>{0, 0});
    once.Remember(std::vector<int32_t>{0});
    EXPECT_EQ(twice.Sample(logits), 1);
    EXPECT_EQ(once.Sample(logits), 0);
  }
  {
    // 2.0 - 0.2 = 1.8 > 1.7 however often 0 was seen.
    p.frequency_penalty = 0;
    p.presence_penalty = 0.2f;
    Sampler s(p);
    s.Remember(std::vector<int32_t>{0, 0, 0, 0});
    EXPECT_EQ(s.Sample(logits), 0);
    p.presence_penalty = 0.4f;
    Sampler t(p);
    t.Remember(std::vector<int32_t>{0});
    EXPECT_EQ(t.Sample(logits), 1);
  }
  {
    // A negative penalty favours what was seen.
    p.presence_penalty = -0.5f;
    Sampler s(p);
    s.Remember(std::vector<int32_t>{1});
    EXPECT_EQ(s.Sample(logits), 1);
  }
}

TEST(Sampler, PenaltiesAlsoShapeTemperatureSampling) {
  const std::vector<float> logits = {1.0f, 1.0f};
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.presence_penalty = 2.0f;
  p.repeat_last_n = 1;
  p.seed = 7;
  Sampler s(p);
  // Each draw penalizes itself for the next one (a window of 1): the draws alternate far more
  // often than a fair coin's would (e^2 : 1 odds for the other token).
  int switches = 0;
  int32_t last = s.Sample(logits);
  for (int i = 0; i < 400; ++i) {
    const int32_t x = s.Sample(logits);
    switches += x != last;
    last = x;
  }
  EXPECT_GT(switches, 300);
}

}  // namespace
}  // namespace bitjit
