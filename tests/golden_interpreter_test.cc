// The reference interpreter against bitnet.cpp's logits on every golden case (Rule C of
// ../shared/golden/TOLERANCE.md), with the golden files' teacher-forcing protocol.
#include <gtest/gtest.h>

#include "runtime/model.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

using testing::GoldenCase;

// Row 0 after the prompt batch, then one row per fed greedy id (all but the last).
std::vector<float> StepLogits(const Model& model, const GoldenCase& c) {
  Session s(model, static_cast<int64_t>(c.prompt_ids.size() + c.greedy_ids.size() + 8));
  std::vector<float> all, row;
  s.Eval(c.prompt_ids, /*all_rows=*/false, &row);
  all.insert(all.end(), row.begin(), row.end());
  for (size_t i = 0; i + 1 < c.greedy_ids.size(); ++i) {
    s.Eval(std::span(&c.greedy_ids[i], 1), false, &row);
    all.insert(all.end(), row.begin(), row.end());
  }
  return all;
}

std::vector<float> PromptLogits(const Model& model, const GoldenCase& c) {
  Session s(model, static_cast<int64_t>(c.prompt_ids.size() + 8));
  std::vector<float> rows;
  s.Eval(c.prompt_ids, /*all_rows=*/true, &rows);
  return rows;
}

// (case, optimized graph?)
class GoldenInterpreter : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(GoldenInterpreter, MeetsRuleC) {
  const GoldenCase c = testing::LoadGoldenCase(std::get<0>(GetParam()));
  ModelOptions options;
  options.optimize = std::get<1>(GetParam());
  auto model = Model::Load(c.model_path, options);
  ASSERT_EQ(model->config().n_vocab, c.n_vocab);
  const auto steps = StepLogits(*model, c);
  const auto prompt = PromptLogits(*model, c);
  ASSERT_EQ(steps.size(), c.step_logits.size());
  ASSERT_EQ(prompt.size(), c.prompt_logits.size());
  const auto r = testing::ComputeRuleC(c, steps, prompt);
  std::printf("[ rule C ] %s%s: %s\n", c.name.c_str(), options.optimize ? " (optimized graph)" : "",
              r.ToString().c_str());
  EXPECT_TRUE(r.Passes()) << r.ToString();
  // Teacher-forced argmax agrees with bitnet.cpp's greedy choice on every step.
  int agree = 0;
  for (size_t i = 0; i < c.greedy_ids.size(); ++i)
    agree += testing::ArgMax(&steps[i * c.n_vocab], c.n_vocab) == c.greedy_ids[i];
  EXPECT_GE(agree, static_cast<int>(c.greedy_ids.size()) - 1) << "argmax agreement " << agree;
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenInterpreter,
                         ::testing::Combine(::testing::ValuesIn(testing::GoldenCaseNames()),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           std::string n = std::get<0>(info.param) +
                                           (std::get<1>(info.param) ? "_optimized" : "_lowered");
                           for (char& ch : n)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace bitjit
