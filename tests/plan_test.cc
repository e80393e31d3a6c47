// Compiled plans: a loaded plan computes exactly what the freshly compiled model computes,
// and plans that do not fit the model file or the CPU are refused with a clear message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "codegen/cpu_features.h"
#include "ir/base/error.h"
#include "ir/printer.h"
#include "plan.pb.h"
#include "runtime/model.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

std::string Golden(const std::string& name) {
  return testing::SharedDir() + "/golden/" + name + "/model.gguf";
}

std::vector<float> StepLogits(const Model& model) {
  Session s(model, 32);
  std::vector<float> all, row;
  const std::vector<int32_t> prompt = {3, 100, 27, 64, 5};
  s.Eval(prompt, true, &all);
  for (int32_t id : {9, 17, 33}) {
    s.Eval(std::span(&id, 1), false, &row);
    all.insert(all.end(), row.begin(), row.end());
  }
  return all;
}

using testing::ExpectError;

TEST(Plan, LoadedPlanComputesWhatTheCompiledModelComputes) {
  testing::TempDir dir;
  for (const char* name : {"tiny", "e128-h1", "gqa4-k4224"}) {
    SCOPED_TRACE(name);
    auto model = Model::Load(Golden(name));
    const std::string plan = dir.File(std::string(name) + ".plan");
    const auto stats = model->SavePlan(plan);
    EXPECT_EQ(stats.n_kernels, 7 * model->config().n_layer);
    EXPECT_TRUE(std::filesystem::exists(plan + ".weights"));
    auto loaded = Model::LoadPlan(plan);
    EXPECT_TRUE(loaded->from_plan());
    EXPECT_EQ(loaded->isa_name(), model->isa_name());
    EXPECT_EQ(ir::Print(loaded->graph()), ir::Print(model->graph()));
    EXPECT_EQ(StepLogits(*loaded), StepLogits(*model));
  }
}

TEST(Plan, RefusesAnotherModelFile) {
  testing::TempDir dir;
  auto model = Model::Load(Golden("tiny"));
  model->SavePlan(dir.File("t.plan"));
  const std::string msg =
      ExpectError([&] { Model::LoadPlan(dir.File("t.plan"), {}, Golden("e128-h1")); });
  EXPECT_NE(msg.find("different model file"), std::string::npos) << msg;
}

TEST(Plan, RefusesAPlanForMissingCpuFeatures) {
  const codegen::Isa missing =
      !codegen::IsaSupported(codegen::Isa::kAvxVnni)      ? codegen::Isa::kAvxVnni
      : !codegen::IsaSupported(codegen::Isa::kAvx512Vnni) ? codegen::Isa::kAvx512Vnni
                                                          : codegen::Isa::kRef;
  if (missing == codegen::Isa::kRef) GTEST_SKIP() << "this CPU has every ISA bitjit knows";
  testing::TempDir dir;
  auto model = Model::Load(Golden("tiny"));
  model->SavePlan(dir.File("t.plan"));
  plan::Plan p;
  {
    std::ifstream in(dir.File("t.plan"), std::ios::binary);
    ASSERT_TRUE(p.ParseFromIstream(&in));
  }
  p.mutable_cpu()->set_isa(std::string(codegen::IsaName(missing)));
  {
    std::ofstream out(dir.File("t.plan"), std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(p.SerializeToOstream(&out));
  }
  const std::string msg = ExpectError([&] { Model::LoadPlan(dir.File("t.plan")); });
  EXPECT_NE(msg.find("lacks its features"), std::string::npos) << msg;
}

TEST(Plan, RefusesDamagedFiles) {
  testing::TempDir dir;
  auto model = Model::Load(Golden("tiny"));
  model->SavePlan(dir.File("t.plan"));
  // A sidecar of the wrong size.
  std::filesystem::resize_file(dir.File("t.plan.weights"), 1000);
  std::string msg = ExpectError([&] { Model::LoadPlan(dir.File("t.plan")); });
  EXPECT_NE(msg.find("does not match the plan"), std::string::npos) << msg;
  // A split across threads no executor would run.
  model->SavePlan(dir.File("t.plan"));
  plan::Plan p;
  {
    std::ifstream in(dir.File("t.plan"), std::ios::binary);
    ASSERT_TRUE(p.ParseFromIstream(&in));
  }
  ASSERT_GT(p.kernels_size(), 0);
  EXPECT_GE(p.kernels(0).decode_tasks_per_thread(), 1);  // written by SavePlan
  p.mutable_kernels(0)->set_prefill_tasks_per_thread(1000);
  {
    std::ofstream out(dir.File("t.plan"), std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(p.SerializeToOstream(&out));
  }
  msg = ExpectError([&] { Model::LoadPlan(dir.File("t.plan")); });
  EXPECT_NE(msg.find("1000 tasks per thread"), std::string::npos) << msg;
  // Not a plan at all.
  std::ofstream(dir.File("junk.plan"), std::ios::binary) << "GGUF\x03 this is not a plan";
  msg = ExpectError([&] { Model::LoadPlan(dir.File("junk.plan")); });
  EXPECT_FALSE(msg.empty());
}

TEST(Plan, CliCompilesAndRunsAPlan) {
  testing::TempDir dir;
  const std::string plan = dir.File("tiny.plan");
  auto r = testing::RunCli({"compile", "-m", Golden("tiny"), "-o", plan});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto c = testing::LoadGoldenCase("tiny");
  r = testing::RunCli(
      {"run", "--plan", plan, "-p", c.prompt, "-n", "32", "--temp", "0", "--ignore-eos", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"ids\":[430,226,445"), std::string::npos) << r.out;
  r = testing::RunCli({"ir", "--plan", plan});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("bitlinear"), std::string::npos);
  r = testing::RunCli({"compile", "-m", Golden("tiny"), "-o", plan, "--isa", "ref"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace bitjit
