// The reference interpreter against bitnet.cpp's logits on every golden case (Rule C of
// ../shared/golden/TOLERANCE.md), with the golden files' teacher-forcing protocol.
#include <gtest/gtest.h>

#include "codegen/cpu_features.h"
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

// Executors under test: the interpreter on the lowered and on the optimized graph, and the
// JIT path on every ISA this CPU can run.
std::vector<std::string> Paths() {
  std::vector<std::string> paths = {"ref-lowered", "ref"};
  for (auto isa : {codegen::Isa::kAvx2, codegen::Isa::kAvx512, codegen::Isa::kAvx512Vnni,
                   codegen::Isa::kAvxVnni, codegen::Isa::kAvx512Amx}) {
    if (codegen::IsaSupported(isa)) paths.push_back(std::string(codegen::IsaName(isa)));
  }
  return paths;
}

// (case, path)
class GoldenInterpreter : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(GoldenInterpreter, MeetsRuleC) {
  const GoldenCase c = testing::LoadGoldenCase(std::get<0>(GetParam()));
  const std::string path = std::get<1>(GetParam());
  ModelOptions options;
  options.optimize = path != "ref-lowered";
  options.isa = path == "ref-lowered" ? "ref" : path;
  options.n_threads = 2;
  auto model = Model::Load(c.model_path, options);
  ASSERT_EQ(model->config().n_vocab, c.n_vocab);
  const auto steps = StepLogits(*model, c);
  const auto prompt = PromptLogits(*model, c);
  ASSERT_EQ(steps.size(), c.step_logits.size());
  ASSERT_EQ(prompt.size(), c.prompt_logits.size());
  const auto r = testing::ComputeRuleC(c, steps, prompt);
  std::printf("[ rule C ] %s on %s: %s\n", c.name.c_str(), path.c_str(), r.ToString().c_str());
  EXPECT_TRUE(r.Passes()) << r.ToString();
  // Teacher-forced argmax agrees with bitnet.cpp's greedy choice on every step.
  int agree = 0;
  for (size_t i = 0; i < c.greedy_ids.size(); ++i)
    agree += testing::ArgMax(&steps[i * c.n_vocab], c.n_vocab) == c.greedy_ids[i];
  EXPECT_GE(agree, static_cast<int>(c.greedy_ids.size()) - 1) << "argmax agreement " << agree;
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenInterpreter,
                         ::testing::Combine(::testing::ValuesIn(testing::GoldenCaseNames()),
                                            ::testing::ValuesIn(Paths())),
                         [](const auto& info) {
                           return testing::TestName(std::get<0>(info.param) + "_" +
                                                    std::get<1>(info.param));
                         });

}  // namespace
}  // namespace bitjit
