// Each pass in the style of Glow's optimizer tests: lower a small model, run the pass, check
// the graph's shape, and check the numbers against the unoptimized graph on the reference
// interpreter. The fusions reorder no float operation, so the logits must be bit-identical.
#include <gtest/gtest.h>

#include <map>

#include "codegen/cpu_features.h"
#include "frontend/lowering/lower_bitnet.h"
#include "ir/base/error.h"
#include "ir/verifier.h"
#include "passes/pass.h"
#include "passes/plan_memory.h"
#include "runtime/interpreter.h"
#include "runtime/jit_executor.h"
#include "runtime/model.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

using ir::OpKind;

class PassTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ModelOptions options;
    options.optimize = false;
    options.isa = "ref";
    model_ = Model::Load(testing::SharedDir() + "/golden/gqa4-k4224/model.gguf", options);
  }
  std::unique_ptr<ir::Graph> Lower() const {
    return LowerBitnet(model_->file(), model_->config(), ir::Numerics::kBitnet);
  }
  static std::map<OpKind, int> Count(const ir::Graph& g) {
    std::map<OpKind, int> c;
    for (const auto& n : g.nodes()) ++c[n->kind];
    return c;
  }
  static std::map<ir::Epilogue, int> Epilogues(const ir::Graph& g) {
    std::map<ir::Epilogue, int> c;
    for (const auto& n : g.nodes())
      if (n->kind == OpKind::kBitLinear) ++c[n->attrs.epilogue];
    return c;
  }
  // Prompt batch (all rows) then two decode steps; returns every logit.
  std::vector<float> Logits(const ir::Graph& g) const {
    const auto& cfg = model_->config();
    KvCache cache(cfg.n_layer, 32, cfg.n_embd_kv(), true);
    Interpreter interp(g);
    const std::vector<int32_t> prompt = {1, 50, 7, 300, 12}, pos = {0, 1, 2, 3, 4},
                               rows = {0, 1, 2, 3, 4};
    std::vector<float> out(rows.size() * cfg.n_vocab), all;
    interp.Forward({prompt, pos, rows}, cache, out.data());
    all = out;
    for (int32_t step = 0; step < 2; ++step) {
      const std::vector<int32_t> tok = {9 + step}, p = {5 + step}, r = {0};
      std::vector<float> row(cfg.n_vocab);
      interp.Forward({tok, p, r}, cache, row.data());
      all.insert(all.end(), row.begin(), row.end());
    }
    return all;
  }
  // Runs `names` on a fresh lowering; checks the result is still bit-identical.
  std::unique_ptr<ir::Graph> RunAndCompare(const std::vector<std::string>& names) {
    auto g = Lower();
    passes::Pipeline(names).Run(g.get());
    EXPECT_TRUE(ir::Verify(*g).empty());
    EXPECT_EQ(Logits(*g), reference_.empty() ? (reference_ = Logits(*Lower())) : reference_);
    return g;
  }

  std::unique_ptr<Model> model_;
  std::vector<float> reference_;
};

TEST_F(PassTest, FormBitLinearReplacesQuantizeAndMatmul) {
  const int layers = static_cast<int>(model_->config().n_layer);
  auto before = Count(*Lower());
  EXPECT_EQ(before[OpKind::kTernaryMatmul], 7 * layers);
  auto g = RunAndCompare({"form-bitlinear"});
  auto after = Count(*g);
  EXPECT_EQ(after[OpKind::kTernaryMatmul], 0);
  EXPECT_EQ(after[OpKind::kQuantizeAct], 0);
  EXPECT_EQ(after[OpKind::kBitLinear], 7 * layers);
}

TEST_F(PassTest, FuseNormFoldsEveryNormIntoAPrologue) {
  const int layers = static_cast<int>(model_->config().n_layer);
  auto g = RunAndCompare({"form-bitlinear", "fuse-norm"});
  auto after = Count(*g);
  // Only the output norm (feeding the lm_head) stays a separate op.
  EXPECT_EQ(after[OpKind::kRmsNorm], 1);
  int with_norm = 0;
  for (const auto& n : g->nodes())
    with_norm +=
        n->kind == OpKind::kBitLinear && n->attrs.prologue == ir::Prologue::kRmsNormQuantize;
  EXPECT_EQ(with_norm, 7 * layers);
}

TEST_F(PassTest, MergeMatmulsMakesQkvAndGateUpOne) {
  const int layers = static_cast<int>(model_->config().n_layer);
  auto g = RunAndCompare({"form-bitlinear", "fuse-norm", "merge-matmuls"});
  auto after = Count(*g);
  EXPECT_EQ(after[OpKind::kBitLinear], 4 * layers);  // qkv, attn_output, gate+up, down
  int three = 0, two = 0;
  for (const auto& n : g->nodes()) {
    if (n->kind != OpKind::kBitLinear) continue;
    three += n->attrs.n_weights == 3;
    two += n->attrs.n_weights == 2;
  }
  EXPECT_EQ(three, layers);
  EXPECT_EQ(two, layers);
}

TEST_F(PassTest, EpilogueFusionsRemoveActivationAndResidualOps) {
  const int layers = static_cast<int>(model_->config().n_layer);
  auto g = RunAndCompare(
      {"form-bitlinear", "fuse-norm", "merge-matmuls", "fuse-glu", "fuse-residual", "dce"});
  auto after = Count(*g);
  EXPECT_EQ(after[OpKind::kReluSqr], 0);
  EXPECT_EQ(after[OpKind::kAdd], 0);
  EXPECT_EQ(after[OpKind::kMul], 1);  // output_norm weight before the lm_head
  auto epi = Epilogues(*g);
  EXPECT_EQ(epi[ir::Epilogue::kReluSqrMul], layers);
  EXPECT_EQ(epi[ir::Epilogue::kResidualAdd], 2 * layers);
}

TEST_F(PassTest, FusionsNeedTheirPrerequisites) {
  // Without form-bitlinear there is nothing for the later passes to match.
  auto g = Lower();
  const auto before = Count(*g);
  passes::Pipeline({"fuse-norm", "merge-matmuls", "fuse-glu", "fuse-residual"}).Run(g.get());
  EXPECT_EQ(Count(*g), before);
}

TEST_F(PassTest, DefaultPipelineIsBitIdenticalAndIdempotent) {
  auto g = RunAndCompare(passes::PassNames());
  const auto once = Count(*g);
  passes::Pipeline::Default().Run(g.get());
  EXPECT_EQ(Count(*g), once);
}

TEST(PassRegistry, UnknownPassIsAnErrorListingThePasses) {
  try {
    passes::Pipeline({"no-such-pass"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fuse-norm"), std::string::npos) << e.what();
  }
}

TEST(Verifier, CatchesUseBeforeDefAndBadShapes) {
  ir::Graph g("bad");
  ir::Value* x = g.Input("x", ir::DType::kF32, ir::Shape{ir::kTokens, 8});
  ir::Value* y = g.Input("y", ir::DType::kF32, ir::Shape{ir::kTokens, 4});
  g.Add(x, y, "mismatch");
  g.Output(x, "out");
  const auto problems = ir::Verify(g);
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].find("broadcast"), std::string::npos) << problems[0];
}

}  // namespace
}  // namespace bitjit

namespace bitjit {
namespace {

TEST_F(PassTest, PlanMemoryNeverOverlapsLiveValuesAndReusesSpace) {
  auto g = Lower();
  passes::Pipeline::Default().Run(g.get());
  ASSERT_GT(g->arena_bytes_per_token(), 0);
  // Recompute live ranges and check every pair of values alive at once is disjoint.
  std::map<const ir::Value*, std::pair<int, int>> range;
  int64_t sum = 0;
  for (int i = 0; i < static_cast<int>(g->nodes().size()); ++i) {
    const auto& n = g->nodes()[i];
    for (const ir::Value* op : n->operands)
      if (range.count(op)) range[op].second = i;
    for (const ir::Value* r : n->results) {
      if (r->arena_offset_per_token < 0) continue;
      EXPECT_EQ(r->arena_offset_per_token % passes::PlanMemory::kAlign, 0);
      range[r] = {i, i};
      sum += passes::BytesPerToken(*r);
    }
  }
  ASSERT_GT(range.size(), 10u);
  for (const auto& [a, ra] : range) {
    EXPECT_LE(a->arena_offset_per_token + passes::BytesPerToken(*a), g->arena_bytes_per_token());
    for (const auto& [b, rb] : range) {
      if (a >= b || ra.second < rb.first || rb.second < ra.first) continue;
      const int64_t a0 = a->arena_offset_per_token, a1 = a0 + passes::BytesPerToken(*a);
      const int64_t b0 = b->arena_offset_per_token, b1 = b0 + passes::BytesPerToken(*b);
      EXPECT_TRUE(a1 <= b0 || b1 <= a0) << "values %" << a->id << " and %" << b->id << " overlap";
    }
  }
  // Reuse: with two layers, the arena is less than half of all activations side by side, and
  // within 1.5x of the most bytes ever live at once (the bound no placement can beat).
  int64_t peak = 0;
  for (int i = 0; i < static_cast<int>(g->nodes().size()); ++i) {
    int64_t live = 0;
    for (const auto& [v, r] : range)
      if (r.first <= i && i <= r.second) live += passes::BytesPerToken(*v);
    peak = std::max(peak, live);
  }
  EXPECT_LT(g->arena_bytes_per_token() * 2, sum);
  EXPECT_LE(g->arena_bytes_per_token() * 2, peak * 3);
}

}  // namespace
}  // namespace bitjit

namespace bitjit {
namespace {

TEST_F(PassTest, WeightLayoutRecordsTheTargetsChoicePerWeight) {
  auto g = Lower();
  passes::Pipeline::Default().Run(g.get());  // no target: nothing decided
  for (const auto& n : g->nodes()) EXPECT_TRUE(n->attrs.weight_tiles.empty());
  passes::PassContext ctx;
  ctx.target = "test";
  ctx.choose_weight_tile = [](int64_t k, int64_t n) {
    return ir::WeightTile{k > 512 ? 16 : 32, n > 300 ? 4 : 8, n > 300 ? 5 : 4};
  };
  passes::Pipeline({"weight-layout"}).Run(g.get(), nullptr, ctx);
  int seen = 0;
  for (const auto& n : g->nodes()) {
    if (n->kind != OpKind::kBitLinear) continue;
    ASSERT_EQ(static_cast<int>(n->attrs.weight_tiles.size()), n->attrs.n_weights);
    for (int i = 0; i < n->attrs.n_weights; ++i) {
      const ir::Value* w = n->bl_weight(i);
      EXPECT_EQ(n->attrs.weight_tiles[i], ctx.choose_weight_tile(w->shape[1], w->shape[0]));
      ++seen;
    }
  }
  EXPECT_EQ(seen, 7 * model_->config().n_layer);
}

// The layout changes how weights are stored, never what is computed: every tile and packing
// the JIT accepts gives bit-identical logits.
TEST(WeightLayout, NonDefaultTilesComputeTheSameLogits) {
  if (!codegen::IsaSupported(codegen::Isa::kAvx512))
    GTEST_SKIP() << "needs AVX-512 for 16 and 32 row tiles";
  const std::string path = testing::SharedDir() + "/golden/gqa4-k4224/model.gguf";
  auto logits_with = [&](codegen::Isa isa, ir::WeightTile tile) {
    ModelOptions o;
    o.isa = std::string(codegen::IsaName(isa));
    auto model = Model::Load(path, o);  // default tiles
    auto g = LowerBitnet(model->file(), model->config(), ir::Numerics::kBitnet);
    passes::PassContext ctx;
    ctx.choose_weight_tile = [tile](int64_t, int64_t) { return tile; };
    passes::Pipeline::Default().Run(g.get(), nullptr, ctx);
    JitExecutor exec(*g, CompileModel(*g, isa, 1), 1);
    KvCache cache(model->config().n_layer, 16, model->config().n_embd_kv(), true);
    const std::vector<int32_t> toks = {5, 60, 7, 99}, pos = {0, 1, 2, 3}, rows = {0, 1, 2, 3};
    std::vector<float> out(4 * model->config().n_vocab);
    exec.Forward({toks, pos, rows}, cache, out.data());
    return out;
  };
  const auto base = logits_with(codegen::Isa::kAvx512, {32, 8});
  EXPECT_EQ(logits_with(codegen::Isa::kAvx512, {16, 4}), base);
  EXPECT_EQ(logits_with(codegen::Isa::kAvx512, {16, 8}), base);
  if (!codegen::TernaryPackingSupported(codegen::Isa::kAvx512Vnni,
                                        codegen::TernaryPacking::k1p6Bit)) {
    GTEST_SKIP() << "1.6-bit weights need avx512vnni with AVX512_VBMI (2-bit tiles passed)";
  }
  const auto vnni = logits_with(codegen::Isa::kAvx512Vnni, {32, 8, 4});
  EXPECT_EQ(logits_with(codegen::Isa::kAvx512Vnni, {32, 8, 5}), vnni);
  EXPECT_EQ(logits_with(codegen::Isa::kAvx512Vnni, {16, 3, 5}), vnni);
}

}  // namespace
}  // namespace bitjit
