// Compiled plans: a loaded plan computes exactly what the freshly compiled model computes,
// and plans that do not fit the model file or the CPU are refused with a clear message.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "codegen/cpu_features.h"
#include "codegen/ref/ref_kernels.h"
#include "codegen/ternary/ternary_matmul.h"
#include "ir/base/error.h"
#include "ir/printer.h"
#include "plan.pb.h"
#include "runtime/model.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

std::string Golden(const std::string& name) {
  return testing::GoldenModelPath(name);
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

// A plan file as protobuf, to inspect or damage it; false when it cannot be read / written.
bool ReadPlan(const std::string& path, plan::Plan* p) {
  std::ifstream in(path, std::ios::binary);
  return p->ParseFromIstream(&in);
}

bool WritePlan(const std::string& path, const plan::Plan& p) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  return p.SerializeToOstream(&out);
}

using testing::ExpectError;

// Copied into huge pages (the default) or run on the sidecar in place (--mmap): the same
// logits as the model compiled from its GGUF.
TEST(Plan, LoadedPlanComputesWhatTheCompiledModelComputes) {
  testing::TempDir dir;
  for (const char* name : {"tiny", "e128-h1", "gqa4-k4224"}) {
    SCOPED_TRACE(name);
    auto model = Model::Load(Golden(name));
    const std::string plan = dir.File(std::string(name) + ".plan");
    const auto stats = model->SavePlan(plan);
    EXPECT_EQ(stats.n_kernels, 7 * model->config().n_layer);
    EXPECT_TRUE(std::filesystem::exists(plan + ".weights"));
    for (PlanWeights weights : {PlanWeights::kMap, PlanWeights::kCopy, PlanWeights::kAuto}) {
      SCOPED_TRACE(static_cast<int>(weights));
      ModelOptions options;
      options.lm_head = "";
      options.plan_weights = weights;
      auto loaded = Model::LoadPlan(plan, options);
      EXPECT_TRUE(loaded->from_plan());
      EXPECT_EQ(loaded->isa_name(), model->isa_name());
      EXPECT_EQ(ir::Print(loaded->graph()), ir::Print(model->graph()));
      EXPECT_EQ(StepLogits(*loaded), StepLogits(*model));
    }
  }
}

// The f16 lm_head is kept in the sidecar in its kernel's tiles; a plan without them (written
// before they were kept) tiles the model's table at load, with the same logits. Tiles that do
// not fit the sidecar, the graph or the kernel are refused.
TEST(Plan, KeepsTheF16LmHeadTilesAndChecksThem) {
  testing::TempDir dir;
  auto model = Model::Load(Golden("tiny"));
  if (model->isa_name() == "ref") GTEST_SKIP() << "the reference path has no f16 lm_head kernel";
  model->SavePlan(dir.File("t.plan"));
  plan::Plan p;
  ASSERT_TRUE(ReadPlan(dir.File("t.plan"), &p));
  ASSERT_TRUE(p.has_f16_lm_head());
  EXPECT_EQ(p.f16_lm_head().vocab(), model->config().n_vocab);
  EXPECT_EQ(p.f16_lm_head().sidecar_offset() + p.f16_lm_head().sidecar_bytes(),
            std::filesystem::file_size(dir.File("t.plan.weights")));
  const std::vector<float> want = StepLogits(*model);

  plan::Plan old = p;
  old.clear_f16_lm_head();
  ASSERT_TRUE(WritePlan(dir.File("t.plan"), old));
  EXPECT_EQ(StepLogits(*Model::LoadPlan(dir.File("t.plan"))), want);

  const auto refused = [&](auto edit, const std::string& expected) {
    plan::Plan q = p;
    edit(q.mutable_f16_lm_head());
    ASSERT_TRUE(WritePlan(dir.File("t.plan"), q));
    const std::string msg = ExpectError([&] { Model::LoadPlan(dir.File("t.plan")); });
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  };
  refused([](plan::F16LmHeadTiles* t) { t->set_sidecar_offset(t->sidecar_offset() + 2); },
          "f16_lm_head bytes do not match the plan");
  refused([](plan::F16LmHeadTiles* t) { t->set_sidecar_offset(1ull << 63); },
          "f16_lm_head bytes do not match the plan");
  refused([](plan::F16LmHeadTiles* t) { t->set_sidecar_bytes(t->sidecar_bytes() - 64); },
          "f16_lm_head bytes do not match the plan");
  refused([](plan::F16LmHeadTiles* t) { t->set_block_lanes(t->block_lanes() * 2); },
          "f16_lm_head bytes do not match the plan");
  refused([](plan::F16LmHeadTiles* t) { t->set_vocab(t->vocab() + 1); },
          "does not match the graph and its kernel");
  refused([](plan::F16LmHeadTiles* t) { t->set_tile_rows(t->tile_rows() + 1); },
          "does not match the graph and its kernel");
}

// A kernel's bytes must start on a 64-byte boundary of the sidecar: the kernels read them in
// place with aligned loads.
TEST(Plan, RefusesMisalignedKernelBytes) {
  testing::TempDir dir;
  auto model = Model::Load(Golden("tiny"));
  model->SavePlan(dir.File("t.plan"));
  plan::Plan p;
  ASSERT_TRUE(ReadPlan(dir.File("t.plan"), &p));
  p.mutable_kernels(1)->set_sidecar_offset(p.kernels(1).sidecar_offset() + 8);
  ASSERT_TRUE(WritePlan(dir.File("t.plan"), p));
  const std::string msg = ExpectError([&] { Model::LoadPlan(dir.File("t.plan")); });
  EXPECT_NE(msg.find("bytes do not match the plan"), std::string::npos) << msg;
}

// plan_fuzz: a plan's extreme values (a NaN or huge kernel scale, eps, rope base) make NaN
// activations, which the lm_head's q8_0 quantizer converted to int8 (undefined behaviour).
// NaN quantizes to 0, infinities saturate.
TEST(Plan, NanActivationsQuantizeWithoutUndefinedBehaviour) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x(32, 1.0f);
  x[0] = nan;
  x[1] = -2.0f;
  std::vector<uint8_t> blocks(34);
  ref::QuantizeRowQ8_0(x.data(), 32, blocks.data());
  EXPECT_EQ(static_cast<int8_t>(blocks[2]), 0);
  EXPECT_EQ(static_cast<int8_t>(blocks[3]), -127);
  x[1] = inf;  // amax inf: every code is inf * 0 = NaN
  ref::QuantizeRowQ8_0(x.data(), 32, blocks.data());
  for (int i = 0; i < 32; ++i) EXPECT_EQ(static_cast<int8_t>(blocks[2 + i]), 0) << i;
  std::vector<int8_t> q(32);
  x[1] = -2.0f;
  ref::QuantizeRow(x.data(), 32, q.data());
  EXPECT_EQ(q[0], 0);
  EXPECT_EQ(q[1], -127);
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
      : !codegen::IsaSupported(codegen::Isa::kAvx512Amx)  ? codegen::Isa::kAvx512Amx
                                                          : codegen::Isa::kRef;
  if (missing == codegen::Isa::kRef) GTEST_SKIP() << "this CPU has every ISA bitjit knows";
  testing::TempDir dir;
  auto model = Model::Load(Golden("tiny"));
  model->SavePlan(dir.File("t.plan"));
  plan::Plan p;
  ASSERT_TRUE(ReadPlan(dir.File("t.plan"), &p));
  p.mutable_cpu()->set_isa(std::string(codegen::IsaName(missing)));
  ASSERT_TRUE(WritePlan(dir.File("t.plan"), p));
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
  ASSERT_TRUE(ReadPlan(dir.File("t.plan"), &p));
  ASSERT_GT(p.kernels_size(), 0);
  EXPECT_GE(p.kernels(0).decode_tasks_per_thread(), 1);  // written by SavePlan
  p.mutable_kernels(0)->set_prefill_tasks_per_thread(1000);
  ASSERT_TRUE(WritePlan(dir.File("t.plan"), p));
  msg = ExpectError([&] { Model::LoadPlan(dir.File("t.plan")); });
  EXPECT_NE(msg.find("1000 tasks per thread"), std::string::npos) << msg;
  // A packing no kernel reads.
  p.mutable_kernels(0)->set_prefill_tasks_per_thread(1);
  p.mutable_kernels(0)->set_codes_per_byte(7);
  ASSERT_TRUE(WritePlan(dir.File("t.plan"), p));
  msg = ExpectError([&] { Model::LoadPlan(dir.File("t.plan")); });
  EXPECT_NE(msg.find("7 codes per byte"), std::string::npos) << msg;
  // A constant without its result (plan_fuzz: read results[0] past the end before verifying).
  p.mutable_kernels(0)->set_codes_per_byte(0);
  for (plan::Node& n : *p.mutable_nodes()) {
    if (n.kind() == "const") {
      n.clear_results();
      break;
    }
  }
  ASSERT_TRUE(WritePlan(dir.File("t.plan"), p));
  msg = ExpectError([&] { Model::LoadPlan(dir.File("t.plan")); });
  EXPECT_NE(msg.find("0 results (expected 1)"), std::string::npos) << msg;
  // An input that is not what the executor binds to its name (plan_fuzz: an input retyped as
  // a q8_0 table was read as the embedding table from the 2 token ids; renamed, the tokens
  // input would be bound to the R output rows and read as T ids).
  model->SavePlan(dir.File("t.plan"));
  ASSERT_TRUE(ReadPlan(dir.File("t.plan"), &p));
  for (plan::Node& n : *p.mutable_nodes()) {
    if (n.kind() == "input" && n.name() == "tokens") n.set_name("junk");
  }
  ASSERT_TRUE(WritePlan(dir.File("t.plan"), p));
  msg = ExpectError([&] { Model::LoadPlan(dir.File("t.plan")); });
  EXPECT_NE(msg.find("input 'junk' is i32[T], not i32[R]"), std::string::npos) << msg;
  // An output without its operand (plan_fuzz: the verifier's list of outputs read operands[0]).
  model->SavePlan(dir.File("t.plan"));
  ASSERT_TRUE(ReadPlan(dir.File("t.plan"), &p));
  for (plan::Node& n : *p.mutable_nodes()) {
    if (n.kind() == "output") n.clear_operands();
  }
  ASSERT_TRUE(WritePlan(dir.File("t.plan"), p));
  msg = ExpectError([&] { Model::LoadPlan(dir.File("t.plan")); });
  EXPECT_NE(msg.find("output"), std::string::npos) << msg;
  // A misaligned activation (plan_fuzz: float loads at an odd address).
  model->SavePlan(dir.File("t.plan"));
  ASSERT_TRUE(ReadPlan(dir.File("t.plan"), &p));
  for (plan::Node& n : *p.mutable_nodes()) {
    if (n.results_size() == 1 && n.results(0).arena_offset_per_token() >= 0) {
      n.mutable_results(0)->set_arena_offset_per_token(n.results(0).arena_offset_per_token() + 2);
      break;
    }
  }
  ASSERT_TRUE(WritePlan(dir.File("t.plan"), p));
  msg = ExpectError([&] { Model::LoadPlan(dir.File("t.plan")); });
  EXPECT_NE(msg.find("is not a multiple of 64"), std::string::npos) << msg;
  // Not a plan at all.
  std::ofstream(dir.File("junk.plan"), std::ios::binary) << "GGUF\x03 this is not a plan";
  msg = ExpectError([&] { Model::LoadPlan(dir.File("junk.plan")); });
  EXPECT_FALSE(msg.empty());
}

// What is not a regular file of ours is refused before it is read: a FIFO (opening it would wait
// for a writer forever), a directory, a device, or a file far larger than any plan.
TEST(Plan, RefusesWhatIsNotARegularFileOfSaneSize) {
  testing::TempDir dir;
  auto model = Model::Load(Golden("tiny"));
  model->SavePlan(dir.File("t.plan"));
  const std::string sidecar = dir.File("t.plan.weights");
  std::filesystem::remove(sidecar);
  ASSERT_EQ(::mkfifo(sidecar.c_str(), 0600), 0);
  std::string msg = ExpectError([&] { Model::LoadPlan(dir.File("t.plan")); });
  EXPECT_NE(msg.find(sidecar + " is not a regular file"), std::string::npos) << msg;
  std::filesystem::remove(sidecar);
  std::filesystem::create_directory(sidecar);
  msg = ExpectError([&] { Model::LoadPlan(dir.File("t.plan")); });
  EXPECT_NE(msg.find(sidecar + " is not a regular file"), std::string::npos) << msg;

  ASSERT_EQ(::mkfifo(dir.File("fifo.plan").c_str(), 0600), 0);
  for (const std::string& path : {dir.File("fifo.plan"), std::string("/dev/zero"), dir.path()}) {
    msg = ExpectError([&] { Model::LoadPlan(path); });
    EXPECT_NE(msg.find(path + " is not a regular file"), std::string::npos) << msg;
  }
  std::ofstream(dir.File("huge.plan"), std::ios::binary) << "x";
  std::filesystem::resize_file(dir.File("huge.plan"), 1ull << 32);  // sparse: no disk used
  msg = ExpectError([&] { Model::LoadPlan(dir.File("huge.plan")); });
  EXPECT_NE(msg.find("larger than a plan can be"), std::string::npos) << msg;
}

// A plan keeps the packing it was compiled with: its sidecar holds those bytes, it computes
// what the model computes, and asking for the other packing at load is refused.
TEST(Plan, KeepsItsTernaryPackingAndRefusesAnother) {
  const codegen::Isa isa = codegen::BestIsa();
  if (!codegen::TernaryPackingSupported(isa, codegen::TernaryPacking::k1p6Bit) ||
      isa == codegen::Isa::kRef) {
    GTEST_SKIP() << "1.6-bit weights need avx2, or avx512vnni with AVX512_VBMI";
  }
  testing::TempDir dir;
  std::vector<float> first;
  uint64_t packed_bytes[2] = {};
  int64_t decode_bytes[2] = {};
  for (int dense = 0; dense < 2; ++dense) {
    ModelOptions o;
    o.ternary_packing = dense ? "1.6bit" : "2bit";
    SCOPED_TRACE(o.ternary_packing);
    auto model = Model::Load(Golden("gqa4-k4224"), o);
    const std::string path = dir.File(o.ternary_packing + ".plan");
    model->SavePlan(path);
    decode_bytes[dense] = model->DecodeWeightBytes();
    plan::Plan p;
    ASSERT_TRUE(ReadPlan(path, &p));
    for (const plan::TernaryKernel& k : p.kernels()) {
      EXPECT_EQ(k.codes_per_byte(), 4 + dense);
      const auto packing =
          dense ? codegen::TernaryPacking::k1p6Bit : codegen::TernaryPacking::k2Bit;
      EXPECT_EQ(k.sidecar_bytes(),
                codegen::TernaryPackedBytes(k.k(), k.n(), k.tile_rows(), packing));
      packed_bytes[dense] += k.sidecar_bytes();
    }
    auto loaded = Model::LoadPlan(path);
    const std::vector<float> logits = StepLogits(*loaded);
    EXPECT_EQ(logits, StepLogits(*model));
    if (dense) {
      EXPECT_EQ(logits, first) << "the packing changed the logits";
    } else {
      first = logits;
    }
    ModelOptions other;
    other.ternary_packing = dense ? "2bit" : "1.6bit";
    const std::string msg = ExpectError([&] { Model::LoadPlan(path, other); });
    EXPECT_NE(msg.find(std::string("plan holds ") + (dense ? "1.6bit" : "2bit")), std::string::npos)
        << msg;
  }
  // 4/5 of the bytes where K is a multiple of 80, a little more for the other K (256: 13
  // blocks of 20 vs 16 chunks of 16).
  EXPECT_LT(packed_bytes[1] * 100, packed_bytes[0] * 83);
  EXPECT_GE(packed_bytes[1] * 5, packed_bytes[0] * 4);
  EXPECT_LT(decode_bytes[1], decode_bytes[0]);

  // A plan from before packings (no codes per byte) is 2 bits: the 2-bit plan loads, the
  // 1.6-bit one no longer matches its sidecar.
  for (int dense = 0; dense < 2; ++dense) {
    const std::string path = dir.File(dense ? "1.6bit.plan" : "2bit.plan");
    plan::Plan p;
    ASSERT_TRUE(ReadPlan(path, &p));
    for (plan::TernaryKernel& k : *p.mutable_kernels()) k.clear_codes_per_byte();
    ASSERT_TRUE(WritePlan(path, p));
    if (dense) {
      const std::string msg = ExpectError([&] { Model::LoadPlan(path); });
      EXPECT_NE(msg.find("bytes do not match the plan"), std::string::npos) << msg;
    } else {
      EXPECT_EQ(StepLogits(*Model::LoadPlan(path)), first);
    }
  }
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
  // --ternary-packing: a typo, and a packing the ISA has no kernels for, are one-line errors.
  r = testing::RunCli({"compile", "-m", Golden("tiny"), "-o", plan, "--ternary-packing", "3bit"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("expected auto, 2bit or 1.6bit"), std::string::npos) << r.err;
  if (codegen::IsaSupported(codegen::Isa::kAvx2)) {
    // avx2 has 1.6-bit kernels (arithmetic unpack) but keeps 2 bits unless asked.
    r = testing::RunCli({"ir", "-m", Golden("tiny"), "--isa", "avx2", "--ternary-packing", "1.6bit",
                         "--after", "weight-layout"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("r4t:1.6b"), std::string::npos) << r.out;
    r = testing::RunCli({"ir", "-m", Golden("tiny"), "--isa", "avx2", "--ternary-packing", "2bit",
                         "--after", "weight-layout"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("r4t:2b"), std::string::npos) << r.out;
  }
  if (codegen::IsaSupported(codegen::Isa::kAvx512) &&
      !codegen::TernaryPackingSupported(codegen::Isa::kAvx512, codegen::TernaryPacking::k1p6Bit)) {
    r = testing::RunCli({"compile", "-m", Golden("tiny"), "-o", plan, "--isa", "avx512",
                         "--ternary-packing", "1.6bit"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("AVX512_VBMI"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace bitjit
