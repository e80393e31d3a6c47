// Plans are input: a plan edited one field at a time (as with protoc --decode / --encode) used
// to run with heap overflows (an attention layer past the KV cache, an arena too small for its
// values, logits wider than the vocabulary, value id -1) or with all-zero logits (a sidecar
// offset that wraps 2^64). Each edit must be refused at load, in one line naming the plan and
// the field, before anything runs.
#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <string>

#include "ir/base/error.h"
#include "plan.pb.h"
#include "runtime/model.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

std::string Tiny() {
  return testing::SharedDir() + "/golden/tiny/model.gguf";
}

// Compiles the tiny model into a plan in `dir` once per test, edits its proto with `edit` and
// returns the error LoadPlan gives for the result ("" if it loads).
class EditedPlan : public ::testing::Test {
 protected:
  std::string LoadError(const std::function<void(plan::Plan*)>& edit,
                        const std::string& lm_head = "") {
    ModelOptions options;
    if (!lm_head.empty()) options.lm_head = lm_head;
    Model::Load(Tiny(), options)->SavePlan(path_);
    plan::Plan p;
    {
      std::ifstream in(path_, std::ios::binary);
      EXPECT_TRUE(p.ParseFromIstream(&in));
    }
    edit(&p);
    {
      std::ofstream out(path_, std::ios::binary | std::ios::trunc);
      EXPECT_TRUE(p.SerializeToOstream(&out));
    }
    try {
      ModelOptions load;
      load.lm_head = "";  // the plan's
      auto model = Model::LoadPlan(path_, load);
      // Were it loaded, this is where it would write out of bounds.
      Session session(*model, 16);
      std::vector<float> logits;
      const std::vector<int32_t> prompt = {1, 2, 3};
      session.Eval(prompt, false, &logits);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  // Index of the first node of `kind`.
  static int NodeOf(const plan::Plan& p, const std::string& kind) {
    for (int i = 0; i < p.nodes_size(); ++i)
      if (p.nodes(i).kind() == kind) return i;
    ADD_FAILURE() << "no " << kind << " node";
    return 0;
  }
  // Gives value `from` the id `to` everywhere (its definition and every use).
  static void Renumber(plan::Plan* p, int32_t from, int32_t to) {
    for (plan::Node& n : *p->mutable_nodes()) {
      for (int i = 0; i < n.operands_size(); ++i)
        if (n.operands(i) == from) n.set_operands(i, to);
      for (plan::Value& v : *n.mutable_results())
        if (v.id() == from) v.set_id(to);
    }
  }
  void ExpectRefused(const std::string& error, const std::string& field) {
    EXPECT_EQ(error.rfind(path_ + ": ", 0), 0u) << error;  // names the plan first
    EXPECT_NE(error.find(field), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }

  testing::TempDir dir_;
  const std::string path_ = dir_.File("tiny.plan");
};

TEST_F(EditedPlan, UneditedPlanLoadsAndRuns) {
  EXPECT_EQ(LoadError([](plan::Plan*) {}), "");
}

TEST_F(EditedPlan, AttentionLayerBeyondTheModelIsRefused) {
  const std::string error =
      LoadError([](plan::Plan* p) { p->mutable_nodes(NodeOf(*p, "attention"))->set_layer(40); });
  ExpectRefused(error, ".layer 40 is not below the model's 2 layers");
}

TEST_F(EditedPlan, ArenaSmallerThanItsValuesIsRefused) {
  ExpectRefused(LoadError([](plan::Plan* p) { p->set_arena_bytes_per_token(8); }),
                "outside arena_bytes_per_token 8");
  ExpectRefused(LoadError([](plan::Plan* p) { p->set_arena_bytes_per_token(-1); }),
                "arena_bytes_per_token -1 is not in");
}

// Within the 1 GiB cap, but more than every activation in a place of its own: each step would
// allocate that times its tokens (plan_fuzz asked for 2 GiB in a 2-token step).
TEST_F(EditedPlan, ArenaLargerThanItsValuesUnsharedIsRefused) {
  ExpectRefused(LoadError([](plan::Plan* p) { p->set_arena_bytes_per_token(int64_t{1} << 29); }),
                "bytes its activations take without sharing");
}

TEST_F(EditedPlan, LogitsWiderThanTheVocabularyOrPastTheArenaAreRefused) {
  ExpectRefused(LoadError([](plan::Plan* p) {
                  p->mutable_nodes(NodeOf(*p, "lm_head"))->mutable_results(0)->set_dims(1, 100000);
                }),
                "lm_head 'lm_head': results must be (f32[R, 512])");
  ExpectRefused(LoadError([](plan::Plan* p) {
                  p->mutable_nodes(NodeOf(*p, "lm_head"))
                      ->mutable_results(0)
                      ->set_arena_offset_per_token(p->arena_bytes_per_token());
                }),
                ".results[0].arena_offset_per_token");
}

TEST_F(EditedPlan, ValueIdsOutOfRangeAreRefused) {
  for (int32_t id : {-1, -3, INT32_MAX}) {
    SCOPED_TRACE(id);
    const std::string error = LoadError([id](plan::Plan* p) {
      const plan::Node& n = p->nodes(NodeOf(*p, "lm_head"));
      Renumber(p, n.results(0).id(), id);
    });
    ExpectRefused(error, ".results[0].id " + std::to_string(id) + " is not in 0..");
  }
}

// A result wider than its weights: the kernel would write what the weights imply, the arena
// would hold what the result claims.
TEST_F(EditedPlan, ResultsThatDoNotFollowFromTheirOperandsAreRefused) {
  ExpectRefused(LoadError([](plan::Plan* p) {
                  p->mutable_nodes(NodeOf(*p, "bitlinear"))
                      ->mutable_results(0)
                      ->set_dims(1, int64_t{1} << 40);
                }),
                "bitlinear 'blk.0.attn_q+blk.0.attn_k+blk.0.attn_v': results must be");
  ExpectRefused(LoadError([](plan::Plan* p) {
                  p->mutable_nodes(NodeOf(*p, "rope"))->mutable_results(0)->clear_dims();
                }),
                "rope 'blk.0.rope_q': results must be");
}

// offset + bytes wrapped around 2^64 and passed the bounds check: the table stayed zero.
TEST_F(EditedPlan, LmHeadSidecarOffsetThatWrapsIsRefused) {
  const std::string error = LoadError(
      [](plan::Plan* p) {
        ASSERT_TRUE(p->has_lm_head());
        p->mutable_lm_head()->set_sidecar_offset(UINT64_MAX - 15);
      },
      "q8_0");
  ExpectRefused(error, "lm_head.sidecar_offset 18446744073709551600");
}

// The executor copies row rows[r] < T of a T-row activation for each output row r; with the
// embedding turned into a gather_rows of the model's table by token ids (a plan the verifier
// passes), it aborted on that bound (plan_fuzz).
TEST_F(EditedPlan, GatherRowsOfAnythingButTheOutputRowsIsRefused) {
  ExpectRefused(LoadError([](plan::Plan* p) {
                  p->mutable_nodes(NodeOf(*p, "embedding"))->set_kind("gather_rows");
                }),
                ".operands: gather_rows 'token_embd' selects [T] rows of f16[512, 256]");
}

// The verifier adds the weights to the operands a bitlinear needs: 2^31 - 1 overflowed an int
// (UBSan in plan_fuzz).
TEST_F(EditedPlan, MoreWeightsThanOperandsAreRefused) {
  ExpectRefused(LoadError([](plan::Plan* p) {
                  p->mutable_nodes(NodeOf(*p, "bitlinear"))->set_n_weights(INT32_MAX);
                }),
                "' has 2147483647 weights for 5 operands");
  // With none, the verifier checked nothing else of it: a rank-1 input was read as 2-D.
  ExpectRefused(
      LoadError([](plan::Plan* p) { p->mutable_nodes(NodeOf(*p, "bitlinear"))->set_n_weights(0); }),
      "' has 0 weights for 5 operands (a bitlinear has at least one)");
}

// Inside the arena, but on top of a value live at the same time: the gather_rows copied its
// rows from the very bytes it wrote (an overlapping memcpy, ASan in plan_fuzz).
TEST_F(EditedPlan, ActivationsLiveAtOnceThatShareTheArenaAreRefused) {
  const std::string error = LoadError([](plan::Plan* p) {
    plan::Node* gather = p->mutable_nodes(NodeOf(*p, "gather_rows"));
    for (const plan::Node& n : p->nodes()) {
      for (const plan::Value& v : n.results())
        if (v.id() == gather->operands(0))
          gather->mutable_results(0)->set_arena_offset_per_token(v.arena_offset_per_token());
    }
  });
  ExpectRefused(error, "].results[0].arena_offset_per_token ");
  EXPECT_NE(error.find("which is live at the same time"), std::string::npos) << error;
}

// The executor reads T ids through these operands; the tokens as positions write the KV cache
// at a token id's row (past the cache: an abort), the positions as tokens embed the wrong rows.
TEST_F(EditedPlan, IdsAndPositionsFromTheWrongInputAreRefused) {
  const auto input = [](const plan::Plan& p, const std::string& name) {
    for (const plan::Node& n : p.nodes())
      if (n.kind() == "input" && n.name() == name) return n.results(0).id();
    ADD_FAILURE() << "no input " << name;
    return 0;
  };
  ExpectRefused(LoadError([&](plan::Plan* p) {
                  p->mutable_nodes(NodeOf(*p, "attention"))->set_operands(3, input(*p, "tokens"));
                }),
                ".operands: attention 'blk.0.attn' reads operand 3 as the step's positions, not "
                "'tokens'");
  ExpectRefused(
      LoadError([&](plan::Plan* p) {
        p->mutable_nodes(NodeOf(*p, "embedding"))->set_operands(1, input(*p, "positions"));
      }),
      "reads operand 1 as the step's tokens, not 'positions'");
}

// A string that is not UTF-8 fails the parse; protobuf used to print a line of its own first.
TEST_F(EditedPlan, PlanThatIsNotUtf8IsRefusedInOneLine) {
  Model::Load(Tiny())->SavePlan(path_);
  plan::Plan p;
  {
    std::ifstream in(path_, std::ios::binary);
    ASSERT_TRUE(p.ParseFromIstream(&in));
  }
  p.mutable_nodes(0)->set_name("\xff\xfe");
  {
    google::protobuf::LogSilencer quiet;  // the serializer complains too
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(p.SerializeToOstream(&out));
  }
  ::testing::internal::CaptureStderr();
  std::string error;
  try {
    Model::LoadPlan(path_);
  } catch (const Error& e) {
    error = e.what();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  ExpectRefused(error, "not a bitjit plan");
}

}  // namespace
}  // namespace bitjit
