// The schedule: the forward pass as bound steps. Each op picks its implementation once, when
// the schedule is built; these tests read the choice back (the kernel each step names) and
// check that the printed schedule is the forward pass that runs.
#include <gtest/gtest.h>

#include <string>

#include "codegen/cpu_features.h"
#include "codegen/ternary/ternary_matmul.h"
#include "runtime/model.h"
#include "runtime/schedule.h"
#include "testing/cli.h"
#include "testing/golden.h"
#include "testing/isa.h"

namespace bitjit {
namespace {

using codegen::Isa;

int CountOf(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// How many weights a bitlinear's kernel list covers with `family` ("TernaryGemv_"): each
// occurrence, times its "N x " count where merged weights share their kernels.
int WeightsWith(const std::string& kernels, const std::string& family) {
  int n = 0;
  for (size_t at = kernels.find(family); at != std::string::npos;
       at = kernels.find(family, at + 1)) {
    const size_t start = kernels.rfind(", ", at);
    const std::string head =
        start == std::string::npos ? "" : kernels.substr(start + 2, at - start - 2);
    n += head.ends_with(" x ") ? std::stoi(head) : 1;
  }
  return n;
}

const ops::OpStep* StepOf(const Schedule& s, ir::OpKind kind) {
  for (const auto& e : s.entries())
    if (e.step->node().kind == kind) return e.step.get();
  return nullptr;
}

TEST(Schedule, ReferenceRunsEveryOpsReferenceImplementation) {
  ModelOptions o;
  o.isa = "ref";
  auto model = Model::Load(testing::GoldenModelPath("tiny"), o);
  const Schedule& s = model->schedule();
  EXPECT_FALSE(s.jit());
  ASSERT_EQ(s.entries().size(), model->graph().nodes().size());
  for (const auto& e : s.entries()) {
    const std::string& k = e.step->kernel();
    EXPECT_TRUE(k == "ref" || k == "-" || k == "portable" || k == "memcpy")
        << ir::OpKindName(e.step->node().kind) << " " << e.step->node().name << ": " << k;
  }
  EXPECT_NE(s.Describe().find("reference"), std::string::npos);
}

// The JIT ISAs only: the reference schedule is tested above.
class JitSchedule : public testing::IsaTest {};

TEST_P(JitSchedule, EveryBitLinearNamesItsKernelsForTheIsa) {
  ModelOptions o;
  o.isa = std::string(codegen::IsaName(isa()));
  o.ternary_packing = "2bit";
  auto model = Model::Load(testing::GoldenModelPath("tiny"), o);
  const Schedule& s = model->schedule();
  ASSERT_TRUE(s.jit());
  const std::string vector_isa(codegen::IsaName(codegen::VectorIsa(isa())));
  int bitlinears = 0;
  for (const auto& e : s.entries()) {
    if (e.step->node().kind != ir::OpKind::kBitLinear) continue;
    ++bitlinears;
    const std::string& k = e.step->kernel();
    // The quantizer, then one GEMV / GEMM pair per merged weight, generated for this ISA.
    EXPECT_EQ(k.rfind("QuantizeAbsmaxI8_", 0), 0u) << k;
    EXPECT_EQ(WeightsWith(k, "TernaryGemv_"), e.step->node().attrs.n_weights) << k;
    EXPECT_EQ(CountOf(k, "TernaryGemm_"),
              CountOf(k, "TernaryGemv_") * (isa() == Isa::kAvx512Amx ? 2 : 1))
        << k;
    EXPECT_NE(k.find("_" + vector_isa + "_K"), std::string::npos) << k;
    EXPECT_EQ(k.find("b3_"), std::string::npos) << "2-bit packing asked: " << k;
  }
  EXPECT_GT(bitlinears, 0);
  const ops::OpStep* head = StepOf(s, ir::OpKind::kLmHead);
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->kernel().rfind("F16Gemv_", 0), 0u) << head->kernel();
  EXPECT_EQ(StepOf(s, ir::OpKind::kAttention)->kernel(),
            codegen::IsAvx512Isa(isa()) ? "AttentionBlockF16Avx512" : "AttentionHeadF16Avx2");
}

TEST_P(JitSchedule, LmHeadOptionAndPackingChangeTheChosenKernels) {
  ModelOptions o;
  o.isa = std::string(codegen::IsaName(isa()));
  o.lm_head = "q8_0";
  auto q8 = Model::Load(testing::GoldenModelPath("tiny"), o);
  EXPECT_EQ(StepOf(q8->schedule(), ir::OpKind::kLmHead)->kernel().find("F16Gemv"),
            std::string::npos);
  if (!codegen::TernaryPackingSupported(isa(), codegen::TernaryPacking::k1p6Bit)) return;
  o.lm_head = "f16";
  o.ternary_packing = "1.6bit";
  auto b3 = Model::Load(testing::GoldenModelPath("tiny"), o);
  EXPECT_NE(StepOf(b3->schedule(), ir::OpKind::kBitLinear)->kernel().find("b3_"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Isas, JitSchedule, ::testing::ValuesIn(testing::kJitIsas),
                         testing::IsaParamName);

// `bitjit ir` prints the schedule of a plan and of a graph from weight-layout on: one line per
// node that runs (weight constants are bound, not run), each with its kernels.
TEST(ScheduleCli, IrPrintsTheScheduleOfPlansAndOfLaidOutGraphs) {
  const std::string model = testing::GoldenModelPath("tiny");
  const std::string plan = ::testing::TempDir() + "/schedule_test.plan";
  ASSERT_EQ(testing::RunCli({"compile", "-m", model, "-o", plan}).exit_code, 0);
  const testing::CliResult from_plan = testing::RunCli({"ir", "--plan", plan});
  ASSERT_EQ(from_plan.exit_code, 0) << from_plan.err;
  const size_t at = from_plan.out.find("schedule ");
  ASSERT_NE(at, std::string::npos) << from_plan.out;
  const std::string schedule = from_plan.out.substr(at);
  EXPECT_EQ(CountOf(schedule, " = bitlinear "),
            CountOf(from_plan.out.substr(0, at), " = bitlinear "));
  EXPECT_EQ(CountOf(schedule, "TernaryGemv_"),
            CountOf(schedule, "TernaryGemm_") - CountOf(schedule, "_amx_"));
  EXPECT_EQ(CountOf(schedule, " = const "), 0);

  const testing::CliResult laid_out =
      testing::RunCli({"ir", "-m", model, "--after", "weight-layout"});
  ASSERT_EQ(laid_out.exit_code, 0) << laid_out.err;
  EXPECT_NE(laid_out.out.find("schedule "), std::string::npos);
  const testing::CliResult fused = testing::RunCli({"ir", "-m", model, "--after", "fuse-norm"});
  ASSERT_EQ(fused.exit_code, 0) << fused.err;
  EXPECT_EQ(fused.out.find("schedule "), std::string::npos) << "not yet the graph that runs";
}

}  // namespace
}  // namespace bitjit
