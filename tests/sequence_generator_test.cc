// The generation object that `run`, `--chat`, llama-cli and the server share
// (runtime/generation/): its stop rules, text, repetition window and drafts, driven with logits
// rows made up so that each row's greedy choice is known; and the one-sequence driver
// (GenerationSession, a one-slot BatchEngine) against a plain Session's step-by-step decoding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "codegen/cpu_features.h"
#include "codegen/ternary/ternary_matmul.h"
#include "runtime/generate.h"
#include "runtime/generation/sequence_generator.h"
#include "runtime/generation/stop_strings.h"
#include "runtime/generation/valid_utf8.h"
#include "runtime/model.h"
#include "tests/testing/golden.h"
#include "tests/testing/isa.h"

namespace bitjit {
namespace {

// ---------------------------------------------------------------- stop strings and UTF-8

TEST(StopStringFilter, HoldsBackPossibleStartsAndCutsAtTheFirstStop) {
  StopStringFilter f({"END", "\n\n"});
  EXPECT_EQ(f.Push("Hello E"), "Hello ");  // "E" may begin "END"
  EXPECT_EQ(f.Push("ON"), "EON");          // it did not
  EXPECT_EQ(f.Push(" a\n"), " a");
  EXPECT_FALSE(f.stopped());
  EXPECT_EQ(f.Push("\nmore"), "");  // "\n\n" completed across two pushes
  EXPECT_TRUE(f.stopped());
  EXPECT_EQ(f.Push("ignored"), "");
  EXPECT_EQ(f.Flush(), "");
}

TEST(StopStringFilter, EarliestStopWinsAndFlushReleasesTheRest) {
  StopStringFilter a({"cd", "b"});
  EXPECT_EQ(a.Push("abcd"), "a");
  StopStringFilter b({"xyz", ""});  // an empty stop string is no stop string
  EXPECT_EQ(b.Push("abxy"), "ab");
  EXPECT_EQ(b.Flush(), "xy");
  EXPECT_FALSE(b.stopped());
}

TEST(StopArrived, FindsAStopEndingInTheNewBytesOnly) {
  EXPECT_TRUE(StopArrived("ab User:", 3, {"User:"}));   // completed by the last 3 bytes
  EXPECT_TRUE(StopArrived("User: hi", 8, {"User:"}));   // inside one new piece
  EXPECT_FALSE(StopArrived("User: hi", 3, {"User:"}));  // it was there before
  EXPECT_FALSE(StopArrived("abc", 3, {"", "x"}));
}

TEST(ValidUtf8, ReplacesEachStrayByteAndKeepsCharacters) {
  EXPECT_EQ(ValidUtf8("a\xC3\xA9z"), "a\xC3\xA9z");
  EXPECT_EQ(ValidUtf8("a\xFF\xE2\x82z"), "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz");
  // Cutting between characters does not change the result.
  EXPECT_EQ(ValidUtf8("\xE2\x82") + ValidUtf8("z"), ValidUtf8("\xE2\x82z"));
}

// ---------------------------------------------------------------- the generator, scripted

class Scripted : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = Model::Load(testing::GoldenModelPath("tiny"));
    vocab_ = model_->config().n_vocab;
    ASSERT_GE(tok().eos_id(), 0);
    a_ = tok().Encode("a", false, false).at(0);
    b_ = tok().Encode("b", false, false).at(0);
    ASSERT_NE(a_, b_);
  }
  const Tokenizer& tok() const { return model_->tokenizer(); }

  // Logits rows whose greedy choices are `ids`, in order.
  std::vector<float> Rows(const std::vector<int32_t>& ids) const {
    std::vector<float> rows(ids.size() * vocab_, 0.0f);
    for (size_t i = 0; i < ids.size(); ++i) rows[i * vocab_ + ids[i]] = 10.0f;
    return rows;
  }
  // Drives `g` one row per step (no drafts) through `ids`, or until it is finished; returns
  // the text released by each token.
  std::vector<std::string> Feed(SequenceGenerator& g, const std::vector<int32_t>& ids) {
    std::vector<std::string> texts;
    const TokenSink sink = [&](int32_t, std::span<const float>, std::string_view text) {
      texts.emplace_back(text);
      return true;
    };
    for (size_t i = 0; i < ids.size() && !g.finished(); ++i) {
      if (i > 0) {
        EXPECT_EQ(g.NextStep().size(), 1u);
      }
      EXPECT_EQ(g.TakeLogits(Rows({ids[i]}), sink), 0);
    }
    return texts;
  }
  static SamplerParams Greedy() {
    SamplerParams p;
    p.temperature = 0;
    return p;
  }

  std::unique_ptr<Model> model_;
  int64_t vocab_ = 0;
  int32_t a_ = -1, b_ = -1;
  const std::vector<int32_t> prompt_ = {1, 2, 3};
};

TEST_F(Scripted, EndsAtEndOfGenerationOrAtMaxTokens) {
  StopRules rules;
  rules.max_tokens = 10;
  {
    SequenceGenerator g(tok(), prompt_, Greedy(), rules);
    EXPECT_EQ(Feed(g, {a_, tok().eos_id(), a_}), (std::vector<std::string>{"a", ""}));
    EXPECT_EQ(g.stop_reason(), StopReason::kEndOfGeneration);
    EXPECT_EQ(g.ids(), (std::vector<int32_t>{a_, tok().eos_id()}));
  }
  {
    rules.max_tokens = 2;
    rules.ignore_eos = true;
    SequenceGenerator g(tok(), prompt_, Greedy(), rules);
    Feed(g, {tok().eos_id(), a_, a_});
    EXPECT_EQ(g.stop_reason(), StopReason::kLength);
    EXPECT_EQ(g.n_generated(), 2);
  }
  {
    // The context's room caps max_tokens; none at all ends it before the first token.
    rules.max_tokens = 10;
    SequenceGenerator g(tok(), prompt_, Greedy(), rules, {}, /*context_room=*/3);
    Feed(g, {a_, a_, a_, a_, a_});
    EXPECT_EQ(g.n_generated(), 3);
    EXPECT_EQ(g.stop_reason(), StopReason::kLength);
    EXPECT_TRUE(SequenceGenerator(tok(), prompt_, Greedy(), rules, {}, 0).finished());
  }
}

TEST_F(Scripted, StopStringsAreCutForTheApiAndKeptForReversePrompts) {
  StopRules rules;
  rules.max_tokens = 10;
  rules.stop = {"ab"};
  {
    SequenceGenerator g(tok(), prompt_, Greedy(), rules);  // cut_stop_strings: the API's `stop`
    EXPECT_EQ(Feed(g, {b_, a_, b_, a_}), (std::vector<std::string>{"b", "", ""}));
    EXPECT_EQ(g.stop_reason(), StopReason::kStopString);
  }
  {
    rules.cut_stop_strings = false;  // llama-cli's -r
    SequenceGenerator g(tok(), prompt_, Greedy(), rules);
    EXPECT_EQ(Feed(g, {b_, a_, b_, a_}), (std::vector<std::string>{"b", "a", "b"}));
    EXPECT_EQ(g.stop_reason(), StopReason::kStopString);
  }
  {
    // A held-back start that never became a stop string comes out at the end.
    rules.cut_stop_strings = true;
    rules.max_tokens = 2;
    SequenceGenerator g(tok(), prompt_, Greedy(), rules);
    EXPECT_EQ(Feed(g, {b_, a_}), (std::vector<std::string>{"b", "a"}));
    EXPECT_EQ(g.stop_reason(), StopReason::kLength);
  }
}

TEST_F(Scripted, ASinkThatSaysStopEndsTheReply) {
  SequenceGenerator g(tok(), prompt_, Greedy(), StopRules{});
  g.TakeLogits(Rows({a_}), [](int32_t, std::span<const float>, std::string_view) { return false; });
  EXPECT_EQ(g.stop_reason(), StopReason::kCallback);
  EXPECT_STREQ(StopReasonName(g.stop_reason()), "callback");
}

// The repetition window starts with the prompt: a prompt token loses to a slightly weaker
// token it would otherwise beat, and only while it is in the window.
TEST_F(Scripted, ThePromptIsInTheRepetitionWindow) {
  SamplerParams p = Greedy();
  p.repeat_penalty = 2.0f;
  std::vector<float> row(vocab_, 0.0f);
  row[a_] = 4.0f;
  row[b_] = 3.0f;
  for (int window : {4, 0}) {
    SCOPED_TRACE(window);
    p.repeat_last_n = window;
    const std::vector<int32_t> prompt = {a_, 7, 8};
    SequenceGenerator g(tok(), prompt, p, StopRules{});
    g.TakeLogits(row, {});
    EXPECT_EQ(g.ids().at(0), window > 0 ? b_ : a_);
  }
  EXPECT_EQ(RepeatWindow(-1, 512), 512);  // llama.cpp's -1: the whole context
  EXPECT_EQ(RepeatWindow(16, 512), 16);
}

// Greedy decoding drafts from the context; a verification step's rows are walked until one
// chooses a token other than the draft's, and the rest of the step is reported rejected.
TEST_F(Scripted, DraftsAreVerifiedAndTheRejectedOnesReported) {
  const std::vector<int32_t> prompt = {5, 6, 7, 8, 9, 5, 6};  // "5 6" was followed by "7 8 9"
  StopRules rules;
  rules.max_tokens = 20;
  SequenceGenerator g(tok(), prompt, Greedy(), rules, DraftParams{3, 2});
  g.TakeLogits(Rows({7}), {});  // after "5 6 7" the context drafts "8 9 5"
  const std::vector<int32_t> step(g.NextStep().begin(), g.NextStep().end());
  EXPECT_EQ(step, (std::vector<int32_t>{7, 8, 9, 5}));
  EXPECT_TRUE(g.verifying());
  // Rows choose 8 (accepted), then 4 instead of 9: one accepted, two rejected.
  EXPECT_EQ(g.TakeLogits(Rows({8, 4, 0, 0}), {}), 2);
  EXPECT_EQ(g.ids(), (std::vector<int32_t>{7, 8, 4}));
  EXPECT_EQ(g.n_drafted(), 3);
  EXPECT_EQ(g.n_accepted(), 1);
  // Sampling never drafts: a drawn token is not what a verified row is exact for.
  SamplerParams sampling;
  sampling.temperature = 0.7f;
  SequenceGenerator s(tok(), prompt, sampling, rules, DraftParams{3, 2});
  std::vector<float> row(vocab_, -100.0f);
  row[7] = 100.0f;  // certain, even when drawn
  s.TakeLogits(row, {});
  EXPECT_EQ(s.NextStep().size(), 1u);
  EXPECT_FALSE(s.verifying());
}

// ---------------------------------------------------------------- the one-sequence driver

// GenerationSession (a one-slot BatchEngine) gives the logits a plain Session gives when it is
// fed the prompt and then each chosen token: the generation path changed, the numbers did not.
// On each executor path, with the prompt in one batch and token by token (-b 1), greedy with a
// repeat penalty.
TEST(GenerationSession, GivesTheLogitsOfStepBySessionDecoding) {
  const testing::GoldenCase c = testing::LoadGoldenCase("tiny");
  std::vector<ModelOptions> paths(1);
  paths[0].isa = "ref";
  for (const testing::JitPath& p : testing::JitPathsOfThisCpu()) {
    ModelOptions o;
    o.isa = codegen::IsaName(p.isa);
    o.ternary_packing = codegen::TernaryPackingName(p.packing);
    o.n_threads = 2;
    paths.push_back(o);
  }
  constexpr int kTokens = 12;
  for (const ModelOptions& options : paths) {
    auto model = Model::Load(c.model_path, options);
    const int64_t vocab = model->config().n_vocab;
    for (int n_batch : {0, 1}) {
      SCOPED_TRACE(options.isa + "/" + options.ternary_packing + " -b " + std::to_string(n_batch));
      GenerateParams params;
      params.n_predict = kTokens;
      params.ignore_eos = true;
      params.n_batch = n_batch;
      params.sampler.temperature = 0;
      params.sampler.repeat_penalty = 1.3f;
      const int64_t n_ctx = static_cast<int64_t>(c.prompt_ids.size()) + kTokens;
      GenerationSession session(*model, n_ctx);
      std::vector<int32_t> ids;
      std::vector<float> rows;
      const GenerateResult r = session.Generate(
          c.prompt_ids, params, [&](int32_t id, std::span<const float> row, std::string_view) {
            ids.push_back(id);
            rows.insert(rows.end(), row.begin(), row.end());
            return true;
          });
      ASSERT_EQ(r.ids, ids);
      ASSERT_EQ(static_cast<int>(ids.size()), kTokens);

      Session plain(*model, n_ctx);
      Sampler sampler(params.sampler);
      sampler.Remember(c.prompt_ids);
      std::vector<float> logits;
      const size_t batch = n_batch > 0 ? n_batch : c.prompt_ids.size();
      for (size_t at = 0; at < c.prompt_ids.size(); at += batch) {
        plain.Eval(std::span(c.prompt_ids).subspan(at, std::min(batch, c.prompt_ids.size() - at)),
                   false, &logits);
      }
      for (int i = 0; i < kTokens; ++i) {
        ASSERT_EQ(std::memcmp(logits.data(), rows.data() + i * vocab, vocab * sizeof(float)), 0)
            << "token " << i;
        const int32_t id = sampler.Sample(logits);
        ASSERT_EQ(id, ids[i]) << "token " << i;
        if (i + 1 < kTokens) plain.Eval(std::span(&id, 1), false, &logits);
      }
    }
  }
}

// A chat's turns go on in the same cache; Reset forgets them.
TEST(GenerationSession, KeepsTheConversationUntilReset) {
  auto model = Model::Load(testing::GoldenModelPath("tiny"));
  GenerationSession session(*model, 64);
  GenerateParams p;
  p.n_predict = 3;
  p.ignore_eos = true;
  p.sampler.temperature = 0;
  const std::vector<int32_t> prompt = {1, 2, 3, 4};
  const GenerateResult first = session.Generate(prompt, p, {});
  EXPECT_EQ(session.n_past(), 4 + 2);  // the last chosen token is not fed
  session.Generate(prompt, p, {});
  EXPECT_EQ(session.n_past(), 6 + 4 + 2);
  session.Reset();
  EXPECT_EQ(session.n_past(), 0);
  EXPECT_EQ(session.Generate(prompt, p, {}).ids, first.ids);
  // -n beyond the context is refused, unless the reply may end at the context's end.
  p.n_predict = 100;
  EXPECT_NE(testing::ExpectError([&] { session.Generate(prompt, p, {}); }).find("does not fit"),
            std::string::npos);
  p.stop_at_context_end = true;
  const int64_t room = session.n_ctx() - session.n_past() - 4;
  EXPECT_EQ(static_cast<int64_t>(session.Generate(prompt, p, {}).ids.size()), room);
}

}  // namespace
}  // namespace bitjit
