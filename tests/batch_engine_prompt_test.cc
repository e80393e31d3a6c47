// Chunked prefill and prompt caching in the batch engine must not change a sequence's numbers:
// a prompt evaluated in pieces (the server's --prefill-chunk rule, tools/server/prefill_piece.h)
// or after a reused cached prefix gives bit-identical logits, and then the same decode steps,
// as the prompt evaluated at once in an empty slot. Checked on the golden models (GQA 2:1, one
// head of 128, GQA 4:1) and on a synthetic MHA model.
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "frontend/gguf/gguf_writer.h"
#include "frontend/synth/synthetic_model.h"
#include "runtime/batch_engine.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"
#include "tools/server/prefill_piece.h"

namespace bitjit {
namespace {

std::vector<std::string> ModelPaths(const testing::TempDir& dir) {
  std::vector<std::string> paths;
  for (const char* name : {"tiny", "e128-h1", "gqa4-k4224"}) {
    paths.push_back(testing::GoldenModelPath(name));
  }
  synth::SynthConfig c;  // MHA: as many KV heads as heads
  c.name = "mha-h4-d64-l3";
  c.n_embd = 256;
  c.n_ff = 512;
  c.n_layer = 3;
  c.n_head = 4;
  c.n_head_kv = 4;
  c.n_vocab = 600;
  c.n_ctx = 256;
  c.seed = 41;
  paths.push_back(dir.File("mha.gguf"));
  gguf::FileSink sink(paths.back());
  synth::WriteSyntheticModel(c, sink);
  sink.Commit();
  return paths;
}

std::vector<int32_t> Prompt(size_t n, int32_t seed) {
  std::vector<int32_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<int32_t>((seed + 37 * i * i + 11 * i) % 500);
  return p;
}

// Evaluates `prompt` in `slot` from its n_past on, in pieces of at most `chunk` tokens (the
// server's rule), then feeds `feed` one token at a time. Returns the logits after the prompt and
// after each fed token.
std::vector<std::vector<float>> EvalPrompt(BatchEngine& engine, int slot,
                                           const std::vector<int32_t>& prompt, int64_t chunk,
                                           const std::vector<int32_t>& feed) {
  std::vector<std::vector<float>> rows, logits;
  for (size_t at = static_cast<size_t>(engine.n_past(slot)); at < prompt.size();) {
    const int64_t left = static_cast<int64_t>(prompt.size() - at);
    const int64_t n = server::PrefillPiece(left, chunk);
    EXPECT_GT(n, 0);
    if (n <= 0) break;
    EXPECT_TRUE(n >= 2 || left == 1) << "a lone token in the middle of a prompt";
    const BatchEngine::Work w{slot, std::span(prompt).subspan(at, n), n == left};
    engine.Step({&w, 1}, &logits);
    at += static_cast<size_t>(n);
    if (n == left) rows.push_back(logits[0]);
  }
  for (const int32_t& t : feed) {
    const BatchEngine::Work w{slot, std::span(&t, 1)};
    engine.Step({&w, 1}, &logits);
    rows.push_back(logits[0]);
  }
  return rows;
}

TEST(PrefillPiece, NeverLeavesOrMakesALoneToken) {
  EXPECT_EQ(server::PrefillPiece(1, 256), 1);
  EXPECT_EQ(server::PrefillPiece(257, 256), 257);  // one over, rather than a lone last token
  EXPECT_EQ(server::PrefillPiece(258, 256), 256);
  EXPECT_EQ(server::PrefillPiece(5, 1), 0);  // 1 left of the budget: a lone piece; wait
  EXPECT_EQ(server::PrefillPiece(2, 1), 2);
  EXPECT_EQ(server::PrefillPiece(3, 0), 0);
  for (int64_t chunk = 2; chunk < 8; ++chunk) {
    for (int64_t n = 1; n < 40; ++n) {
      int64_t left = n;
      while (left > 0) {
        const int64_t piece = server::PrefillPiece(left, chunk);
        ASSERT_GT(piece, 0);
        ASSERT_LE(piece, chunk + 1);
        ASSERT_TRUE(piece >= 2 || n == 1) << n << " in pieces of " << chunk;
        left -= piece;
      }
      ASSERT_EQ(left, 0);
    }
  }
}

TEST(BatchEnginePrompt, PromptInPiecesEqualsPromptAtOnce) {
  testing::TempDir dir;
  for (const std::string& path : ModelPaths(dir)) {
    SCOPED_TRACE(path);
    auto model = Model::Load(path);
    const std::vector<int32_t> prompt = Prompt(23, 3), feed = {7, 99, 250};
    BatchEngine whole_engine(*model, 1, 64);
    const auto whole = EvalPrompt(whole_engine, whole_engine.AcquireSlot(), prompt, 1000, feed);
    for (int64_t chunk : {2, 3, 5, 8, 22}) {
      SCOPED_TRACE("chunk " + std::to_string(chunk));
      BatchEngine engine(*model, 1, 64);
      EXPECT_EQ(EvalPrompt(engine, engine.AcquireSlot(), prompt, chunk, feed), whole);
    }
  }
}

TEST(BatchEnginePrompt, ReusedPrefixGivesTheLogitsOfAFreshSlot) {
  testing::TempDir dir;
  for (const std::string& path : ModelPaths(dir)) {
    SCOPED_TRACE(path);
    auto model = Model::Load(path);
    const std::vector<int32_t> first = Prompt(17, 5), other = Prompt(9, 200);
    const std::vector<int32_t> reply = {30, 31, 32, 33};
    // The next turn: the first prompt, the reply (generated token by token), more text.
    std::vector<int32_t> second = first;
    second.insert(second.end(), reply.begin(), reply.end());
    for (int32_t t : Prompt(6, 77)) second.push_back(t);

    BatchEngine engine(*model, 2, 64);
    const int a = engine.AcquireSlot(first, true);
    const int b = engine.AcquireSlot(other, true);
    ASSERT_NE(a, b);
    EvalPrompt(engine, a, first, 256, reply);
    EvalPrompt(engine, b, other, 256, {1});
    engine.ReleaseSlot(b);  // free the longest: `a` can win only by its prefix
    engine.ReleaseSlot(a);
    EXPECT_EQ(engine.free_slots(), 2);
    const int again = engine.AcquireSlot(second, true);
    EXPECT_EQ(again, a);
    // bitnet.cpp rounds a lone decode token's attention its own way: the reply's tokens (and
    // all after them) are evaluated again, the first prompt is reused.
    EXPECT_EQ(engine.n_past(again), static_cast<int64_t>(first.size()));
    const auto cached = EvalPrompt(engine, again, second, 4, {5, 6});

    BatchEngine fresh(*model, 1, 64);
    EXPECT_EQ(cached, EvalPrompt(fresh, fresh.AcquireSlot(), second, 1000, {5, 6}));

    // The same prompt again: all but its last two tokens come from the cache.
    engine.ReleaseSlot(again);
    const int same = engine.AcquireSlot(second, true);
    EXPECT_EQ(same, a);
    EXPECT_EQ(engine.n_past(same), static_cast<int64_t>(second.size() - 2));
    EXPECT_EQ(EvalPrompt(engine, same, second, 256, {5, 6}), cached);
    // Without reuse, the slot free the longest comes back empty.
    const int empty = engine.AcquireSlot(second, false);
    EXPECT_EQ(empty, b);
    EXPECT_EQ(engine.n_past(empty), 0);
  }
}

}  // namespace
}  // namespace bitjit
