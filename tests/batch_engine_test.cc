// Continuous batching must not change any sequence's numbers: three sequences stepped
// together (prefill mixed with decode) give bit-identical logits to each run alone.
#include "runtime/batch_engine.h"

#include <gtest/gtest.h>

#include "tests/testing/golden.h"

namespace bitjit {
namespace {

TEST(BatchEngine, BatchedStepsEqualSolitaryRuns) {
  for (const char* name : {"tiny", "e128-h1"}) {
    SCOPED_TRACE(name);
    auto model = Model::Load(testing::GoldenModelPath(name));
    const std::vector<std::vector<int32_t>> prompts = {{5, 77, 120, 3}, {9}, {300, 2, 44, 61, 8, 19}};
    const std::vector<int32_t> feed = {11, 42, 7};
    // Alone: prompt, then three decode steps.
    std::vector<std::vector<std::vector<float>>> alone(prompts.size());
    for (size_t s = 0; s < prompts.size(); ++s) {
      Session session(*model, 32);
      std::vector<float> row;
      session.Eval(prompts[s], false, &row);
      alone[s].push_back(row);
      for (int32_t id : feed) {
        session.Eval(std::span(&id, 1), false, &row);
        alone[s].push_back(row);
      }
    }
    // Together: sequence 1 starts one step late, so prefill and decode share batches.
    BatchEngine engine(*model, 4, 32);
    std::vector<int> slot(prompts.size());
    for (size_t s = 0; s < prompts.size(); ++s) slot[s] = engine.AcquireSlot();
    std::vector<std::vector<std::vector<float>>> together(prompts.size());
    std::vector<size_t> fed(prompts.size(), 0);
    for (int step = 0; step < 6; ++step) {
      std::vector<BatchEngine::Work> work;
      std::vector<size_t> who;
      for (size_t s = 0; s < prompts.size(); ++s) {
        const int start = s == 1 ? 1 : 0;
        if (step < start || together[s].size() > feed.size()) continue;
        if (together[s].empty()) {
          work.push_back({slot[s], prompts[s]});
        } else {
          work.push_back({slot[s], std::span(&feed[fed[s]++], 1)});
        }
        who.push_back(s);
      }
      if (work.empty()) continue;
      std::vector<std::vector<float>> logits;
      engine.Step(work, &logits);
      for (size_t i = 0; i < who.size(); ++i) together[who[i]].push_back(logits[i]);
    }
    for (size_t s = 0; s < prompts.size(); ++s) {
      ASSERT_EQ(together[s].size(), alone[s].size()) << "sequence " << s;
      for (size_t i = 0; i < alone[s].size(); ++i) {
        EXPECT_EQ(together[s][i], alone[s][i]) << "sequence " << s << " step " << i;
      }
    }
    EXPECT_EQ(engine.free_slots(), 1);
    engine.ReleaseSlot(slot[0]);
    EXPECT_EQ(engine.free_slots(), 2);
  }
}

}  // namespace
}  // namespace bitjit
