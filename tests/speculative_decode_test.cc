// Exact speculative decoding: with --draft, greedy decoding must give the same tokens and
// bit-identical logits for every one of them as plain greedy decoding, on every executor path,
// whether the drafts are accepted, rejected or cut short. Drafts verified in one pass take each
// row through the one-token decode roundings (StepInputs::decode_steps).
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "codegen/cpu_features.h"
#include "codegen/ternary/ternary_matmul.h"
#include "runtime/batch_engine.h"
#include "runtime/generate.h"
#include "runtime/ngram_draft.h"
#include "tests/testing/golden.h"
#include "tests/testing/isa.h"

namespace bitjit {
namespace {

struct Decoded {
  std::vector<int32_t> ids;
  std::vector<float> logits;  // the row each id was chosen from, in order
  GenerateResult result;
};

Decoded Decode(const Model& model, std::span<const int32_t> prompt, int n, const DraftParams& draft,
               float repeat_penalty = 1.0f) {
  GenerationSession session(model, static_cast<int64_t>(prompt.size()) + n + 8);
  GenerateParams p;
  p.n_predict = n;
  p.ignore_eos = true;
  p.sampler.temperature = 0;
  p.sampler.repeat_penalty = repeat_penalty;
  p.draft = draft;
  Decoded run;
  run.result =
      session.Generate(prompt, p, [&](int32_t id, std::span<const float> row, std::string_view) {
        run.ids.push_back(id);
        run.logits.insert(run.logits.end(), row.begin(), row.end());
        return true;
      });
  return run;
}

// Executor paths: the interpreter and each JIT ISA and packing this CPU runs.
std::vector<ModelOptions> Paths() {
  std::vector<ModelOptions> out;
  ModelOptions ref;
  ref.isa = "ref";
  out.push_back(ref);
  for (const testing::JitPath& p : testing::JitPathsOfThisCpu()) {
    ModelOptions o;
    o.isa = codegen::IsaName(p.isa);
    o.ternary_packing = codegen::TernaryPackingName(p.packing);
    o.n_threads = 2;
    out.push_back(o);
  }
  return out;
}

// Prompts: the case's own, the same repeated (drafts match and are mostly accepted), and
// random ones with and without repeated stretches.
std::vector<std::vector<int32_t>> Prompts(const testing::GoldenCase& c, uint64_t seed) {
  std::vector<std::vector<int32_t>> out = {c.prompt_ids};
  std::vector<int32_t> twice = c.prompt_ids;
  twice.insert(twice.end(), c.prompt_ids.begin(), c.prompt_ids.end());
  out.push_back(twice);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(c.n_vocab - 1));
  std::vector<int32_t> random(12), looped;
  for (int32_t& t : random) t = id(rng);
  out.push_back(random);
  for (int i = 0; i < 4; ++i) looped.insert(looped.end(), random.begin(), random.begin() + 5);
  out.push_back(looped);
  return out;
}

void ExpectSame(const Decoded& plain, const Decoded& drafted, int64_t vocab) {
  ASSERT_EQ(drafted.ids, plain.ids);
  ASSERT_EQ(drafted.logits.size(), plain.logits.size());
  for (size_t i = 0; i < plain.ids.size(); ++i) {
    EXPECT_EQ(std::memcmp(drafted.logits.data() + i * vocab, plain.logits.data() + i * vocab,
                          vocab * sizeof(float)),
              0)
        << "logits of token " << i << " differ";
  }
}

class SpeculativeGolden : public ::testing::TestWithParam<std::string> {};

// The numerics under every accepted draft: tokens verified in one pass give, row for row, the
// logits that one-token steps give, also over cache rows a rejected draft left behind.
TEST_P(SpeculativeGolden, DecodeStepsInOnePassEqualOneTokenSteps) {
  const testing::GoldenCase c = testing::LoadGoldenCase(GetParam());
  const int64_t vocab = c.n_vocab;
  constexpr int kSteps = 9;
  for (const ModelOptions& options : Paths()) {
    SCOPED_TRACE(options.isa + "/" + options.ternary_packing);
    auto model = Model::Load(c.model_path, options);
    const Decoded plain = Decode(*model, c.prompt_ids, kSteps + 1, {});
    const std::vector<int32_t> fed(plain.ids.begin(), plain.ids.begin() + kSteps);
    Session session(*model, static_cast<int64_t>(c.prompt_ids.size()) + kSteps + 8);
    std::vector<float> rows;
    session.Eval(c.prompt_ids, false, &rows);
    const int64_t n_prompt = session.n_past();
    // A rejected draft first: wrong tokens fill the cache rows the accepted ones then take.
    std::vector<int32_t> wrong = fed;
    for (int32_t& t : wrong) t = (t + 1) % static_cast<int32_t>(vocab);
    session.EvalAsDecodeSteps(std::span(wrong).first(5), &rows);
    session.Truncate(n_prompt);
    session.EvalAsDecodeSteps(fed, &rows);
    ASSERT_EQ(rows.size(), static_cast<size_t>(kSteps * vocab));
    for (int i = 0; i < kSteps; ++i) {
      EXPECT_EQ(std::memcmp(rows.data() + i * vocab, plain.logits.data() + (i + 1) * vocab,
                            vocab * sizeof(float)),
                0)
          << "row " << i << " differs from its one-token step";
    }
  }
}

// Whole generations: whatever is drafted, accepted or rejected, the tokens and logits are
// those of plain greedy decoding.
TEST_P(SpeculativeGolden, DraftedGreedyIsBitIdenticalToPlainGreedy) {
  const testing::GoldenCase c = testing::LoadGoldenCase(GetParam());
  ModelOptions options;  // the best JIT path (the one above covers them all)
  options.n_threads = 2;
  auto model = Model::Load(c.model_path, options);
  uint64_t seed = 1;
  for (const auto& prompt : Prompts(c, seed++)) {
    SCOPED_TRACE("prompt of " + std::to_string(prompt.size()) + " tokens");
    const Decoded plain = Decode(*model, prompt, 24, {});
    EXPECT_EQ(plain.result.n_drafted, 0);
    for (const DraftParams draft : {DraftParams{8, 2}, DraftParams{3, 1}}) {
      ExpectSame(plain, Decode(*model, prompt, 24, draft), c.n_vocab);
    }
    // Penalties with greedy decoding: each verified row is chosen after the tokens before it.
    ExpectSame(Decode(*model, prompt, 24, {}, 1.3f), Decode(*model, prompt, 24, {4, 1}, 1.3f),
               c.n_vocab);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, SpeculativeGolden, ::testing::ValuesIn(testing::GoldenCaseNames()),
                         [](const auto& info) { return testing::TestName(info.param); });

// The trained default model writes English, which repeats: drafts get accepted and rejected,
// on every executor path, and the output stays that of plain greedy decoding.
TEST(SpeculativeDecode, TrainedModelAcceptsDraftsAndKeepsItsOutput) {
  const std::string path = std::string(BITJIT_SOURCE_DIR) + "/models/bitjit-stories.gguf";
  for (const ModelOptions& options : Paths()) {
    SCOPED_TRACE(options.isa + "/" + options.ternary_packing);
    auto model = Model::Load(path, options);
    const Tokenizer& tok = model->tokenizer();
    const int64_t vocab = model->config().n_vocab;
    int accepted = 0, rejected = 0;
    for (const char* text :
         {"Once upon a time, there was a little girl named Lily. She liked to play. Once upon a "
          "time, there was",
          "Tom had a red ball. Tom had a red ball. Tom had a red", "The sun was hot."}) {
      SCOPED_TRACE(text);
      const std::vector<int32_t> prompt = tok.Encode(text, true, false);
      const Decoded plain = Decode(*model, prompt, 48, {});
      for (const DraftParams draft : {DraftParams{8, 2}, DraftParams{4, 1}}) {
        const Decoded drafted = Decode(*model, prompt, 48, draft);
        ExpectSame(plain, drafted, vocab);
        accepted += drafted.result.n_accepted;
        rejected += drafted.result.n_drafted - drafted.result.n_accepted;
      }
    }
    // Both outcomes of a verification were exercised, or the comparison proves little.
    EXPECT_GT(accepted, 0);
    EXPECT_GT(rejected, 0);
  }
}

TEST(NgramDraft, TakesWhatFollowedTheLatestLongestMatch) {
  const DraftParams p{4, 2};
  // The longest suffix found earlier is "5 7 8" (at 4), followed by 1 2 3 4.
  const std::vector<int32_t> h = {7, 8, 9, 9, 5, 7, 8, 1, 2, 3, 4, 5, 7, 8};
  EXPECT_EQ(DraftFromContext(h, p, 8), (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(DraftFromContext(h, p, 2), (std::vector<int32_t>{1, 2}));  // room left
  // The longer match "5 7 8" (followed by 6 0) wins over the later "7 8" (followed by 9).
  const std::vector<int32_t> g = {5, 7, 8, 6, 0, 7, 8, 9, 5, 7, 8};
  EXPECT_EQ(DraftFromContext(g, p, 2), (std::vector<int32_t>{6, 0}));
  // No earlier occurrence of a suffix of at least min_match tokens: no draft.
  EXPECT_TRUE(DraftFromContext(std::vector<int32_t>{1, 2, 3, 4}, p, 8).empty());
  EXPECT_TRUE(DraftFromContext(std::vector<int32_t>{1, 2, 3, 2}, p, 8).empty());
  EXPECT_EQ(DraftFromContext(std::vector<int32_t>{1, 2, 3, 2}, DraftParams{4, 1}, 8),
            (std::vector<int32_t>{3, 2}));
  EXPECT_TRUE(DraftFromContext(h, DraftParams{}, 8).empty());  // off
}

// The server's way: drafted tokens of one slot verified in the same step as another slot's
// prompt and a third one's decode token; every row equals its one-token step.
TEST(SpeculativeDecode, DraftedWorkSharesABatchWithOtherSequences) {
  auto model = Model::Load(testing::GoldenModelPath("tiny"));
  const int64_t vocab = model->config().n_vocab;
  const std::vector<int32_t> a = {5, 77, 120, 3}, b = {300, 2, 44, 61, 8, 19}, c = {9, 10};
  const Decoded plain_a = Decode(*model, a, 7, {});
  const std::vector<int32_t> fed_a(plain_a.ids.begin(), plain_a.ids.begin() + 6);
  const int32_t fed_c = 42;
  // c alone: prompt, then one decode step.
  Session alone_c(*model, 32);
  std::vector<float> row_c, row_b;
  alone_c.Eval(c, false, &row_c);
  alone_c.Eval(std::span(&fed_c, 1), false, &row_c);
  Session alone_b(*model, 32);
  alone_b.Eval(b, false, &row_b);

  BatchEngine engine(*model, 3, 32);
  const int sa = engine.AcquireSlot(), sb = engine.AcquireSlot(), sc = engine.AcquireSlot();
  std::vector<std::vector<float>> logits;
  const BatchEngine::Work first[] = {{sa, a}, {sc, c}};
  engine.Step(first, &logits);
  const BatchEngine::Work second[] = {
      {sa, fed_a, true, /*decode_steps=*/true}, {sb, b}, {sc, std::span(&fed_c, 1)}};
  engine.Step(second, &logits);
  ASSERT_EQ(logits[0].size(), fed_a.size() * vocab);
  for (size_t i = 0; i < fed_a.size(); ++i) {
    EXPECT_EQ(std::memcmp(logits[0].data() + i * vocab, plain_a.logits.data() + (i + 1) * vocab,
                          vocab * sizeof(float)),
              0)
        << "drafted row " << i;
  }
  EXPECT_EQ(logits[1], row_b);
  EXPECT_EQ(logits[2], row_c);
  engine.Truncate(sa, static_cast<int64_t>(a.size()) + 2);
  EXPECT_EQ(engine.n_past(sa), static_cast<int64_t>(a.size()) + 2);
}

TEST(SpeculativeDecode, RefusesSampling) {
  auto model = Model::Load(testing::GoldenModelPath("tiny"));
  GenerationSession session(*model, 64);
  GenerateParams p;
  p.n_predict = 4;
  p.sampler.temperature = 0.7f;
  p.draft = {8, 2};
  const std::vector<int32_t> prompt = {1, 2, 3};
  EXPECT_NE(testing::ExpectError([&] { session.Generate(prompt, p, nullptr); }).find("--temp 0"),
            std::string::npos);
}

}  // namespace
}  // namespace bitjit
