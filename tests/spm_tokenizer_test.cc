// The SentencePiece ("llama") tokenizer of 1bitLLM's models, as llama.cpp's SPM tokenizer
// works: hand-checked encodings of a small vocabulary (merge by score, leftmost tie, byte
// fallback, unknown token, prefix space, special tokens), decoding and streaming of arbitrary
// bytes, bad files, and a whole synthetic SPM model through the CLI.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "frontend/gguf/gguf_file.h"
#include "frontend/gguf/gguf_writer.h"
#include "frontend/synth/spm_vocab.h"
#include "frontend/synth/synthetic_model.h"
#include "frontend/tokenizer/spm.h"
#include "frontend/tokenizer/streaming_decoder.h"
#include "frontend/tokenizer/tokenizer.h"
#include "ir/base/error.h"
#include "tests/testing/cli.h"
#include "tests/testing/memory_gguf.h"

namespace bitjit {
namespace {

using gguf::KvValue;
using Kvs = std::vector<std::pair<std::string, KvValue>>;
constexpr char kSpace[] = "\xE2\x96\x81";  // ▁

using testing::MakeGguf;
using testing::MemoryGguf;

// LLaMA's layout in miniature: <unk> <s> </s>, optionally the 256 byte tokens, then pieces.
struct SmallVocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  int32_t Add(std::string text, float score, int32_t type = 1) {
    tokens.push_back(std::move(text));
    scores.push_back(score);
    types.push_back(type);
    return static_cast<int32_t>(tokens.size() - 1);
  }
  int32_t byte0 = -1;  // id of <0x00>

  explicit SmallVocab(bool byte_tokens) {
    Add("<unk>", 0, 2);
    Add("<s>", 0, 3);
    Add("</s>", 0, 3);
    if (byte_tokens) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      byte0 = static_cast<int32_t>(tokens.size());
      for (int b = 0; b < 256; ++b) Add({'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'}, 0, 6);
    }
  }
  Kvs Keys() const {
    return {{"tokenizer.ggml.model", KvValue::String("llama")},
            {"tokenizer.ggml.tokens", KvValue::StringArray(tokens)},
            {"tokenizer.ggml.scores", KvValue::F32Array(scores)},
            {"tokenizer.ggml.token_type", KvValue::I32Array(types)}};
  }
};

class SpmSmallVocab : public ::testing::Test {
 protected:
  SpmSmallVocab() : v_(true) {
    a_ = v_.Add("a", -100);
    b_ = v_.Add("b", -100);
    c_ = v_.Add("c", -100);
    sp_ = v_.Add(kSpace, -100);
    ab_ = v_.Add("ab", -5);
    bc_ = v_.Add("bc", -3);  // beats "ab": "abc" is a + bc
    aa_ = v_.Add("aa", -2);
    sp_a_ = v_.Add(std::string(kSpace) + "a", -4);
    sp_sp_ = v_.Add(std::string(kSpace) + kSpace, -1);
    gguf_ = MakeGguf(v_.Keys());
    tok_ = Tokenizer::FromGguf(*gguf_.file);
  }
  int32_t Byte(uint8_t b) const { return v_.byte0 + b; }
  std::vector<int32_t> Plain(const std::string& text) const {
    return tok_->Encode(text, false, false);
  }

  SmallVocab v_;
  int32_t a_, b_, c_, sp_, ab_, bc_, aa_, sp_a_, sp_sp_;
  MemoryGguf gguf_;
  std::unique_ptr<Tokenizer> tok_;
};

TEST_F(SpmSmallVocab, ReadsLlamaCppsDefaults) {
  EXPECT_EQ(tok_->model(), TokenizerModel::kSpm);
  EXPECT_EQ(tok_->unk_id(), 0);
  EXPECT_EQ(tok_->bos_id(), 1);  // no bos/eos keys: llama.cpp's LLaMA ids
  EXPECT_EQ(tok_->eos_id(), 2);
  EXPECT_TRUE(tok_->add_bos());
  EXPECT_TRUE(tok_->add_space_prefix());
  EXPECT_EQ(tok_->skipped_merges(), 0u);
}

TEST_F(SpmSmallVocab, MergesTheHighestScoreFirst) {
  // "▁abc": ▁a (-4), ab (-5), bc (-3): bc first, then ▁a; "▁abc"/"abc" are not tokens.
  EXPECT_EQ(Plain("abc"), (std::vector<int32_t>{sp_a_, bc_}));
  // "▁ab": ▁a (-4) beats ab (-5).
  EXPECT_EQ(Plain("ab"), (std::vector<int32_t>{sp_a_, b_}));
  EXPECT_EQ(Plain("c"), (std::vector<int32_t>{sp_, c_}));
}

TEST_F(SpmSmallVocab, TiesGoToTheLeftmostPair) {
  // "▁baaa": three "aa" pairs of equal score; the leftmost merges, then the one after it.
  EXPECT_EQ(Plain("baaa"), (std::vector<int32_t>{sp_, b_, aa_, a_}));
  EXPECT_EQ(Plain("baaaa"), (std::vector<int32_t>{sp_, b_, aa_, aa_}));
}

TEST_F(SpmSmallVocab, PrefixSpaceAndEscapedSpaces) {
  EXPECT_EQ(Plain("a"), (std::vector<int32_t>{sp_a_}));
  // Spaces become ▁ and merge like any character: "▁▁" (-1) beats "▁a" (-4).
  EXPECT_EQ(Plain(" a"), (std::vector<int32_t>{sp_sp_, a_}));
  EXPECT_EQ(Plain("a a"), (std::vector<int32_t>{sp_a_, sp_a_}));
  // BOS comes first; the text still gets its prefix space.
  EXPECT_EQ(tok_->Encode("a", true, false), (std::vector<int32_t>{1, sp_a_}));
  EXPECT_EQ(tok_->Encode("", true, false), (std::vector<int32_t>{1}));
  EXPECT_TRUE(Plain("").empty());

  Kvs keys = v_.Keys();
  keys.emplace_back("tokenizer.ggml.add_space_prefix", KvValue::Bool(false));
  auto no_prefix = MakeGguf(keys);
  const auto tok = Tokenizer::FromGguf(*no_prefix.file);
  EXPECT_FALSE(tok->add_space_prefix());
  EXPECT_EQ(tok->Encode("a", false, false), (std::vector<int32_t>{a_}));
  EXPECT_EQ(tok->Encode("a a", false, false), (std::vector<int32_t>{a_, sp_a_}));
}

TEST_F(SpmSmallVocab, CharactersNotInTheVocabularyBecomeByteTokens) {
  // é is C3 A9; € is E2 82 AC.
  EXPECT_EQ(Plain("\xC3\xA9"), (std::vector<int32_t>{sp_, Byte(0xC3), Byte(0xA9)}));
  EXPECT_EQ(Plain("a\xE2\x82\xAC"),
            (std::vector<int32_t>{sp_a_, Byte(0xE2), Byte(0x82), Byte(0xAC)}));
  // A lead byte takes the bytes after it into its symbol, valid or not, as llama.cpp does: the
  // "a" after a broken C3 does not merge with the ▁ before it.
  EXPECT_EQ(Plain("\xC3"
                  "a"),
            (std::vector<int32_t>{sp_, Byte(0xC3), Byte('a')}));
  // It can take the first byte of an escaped space too; that ▁ then prints as its bytes.
  const auto ids = Plain("\xC3 a");
  EXPECT_EQ(ids, (std::vector<int32_t>{sp_, Byte(0xC3), Byte(0xE2), Byte(0x96), Byte(0x81), a_}));
  EXPECT_EQ(tok_->Decode(ids),
            " \xC3\xE2\x96\x81"
            "a");
}

TEST(SpmTokenizer, WithoutByteTokensAnUnknownCharacterIsOneUnk) {
  SmallVocab v(false);
  const int32_t a = v.Add("a", -1);
  const int32_t sp = v.Add(kSpace, -1);
  auto gguf = MakeGguf(v.Keys());
  const auto tok = Tokenizer::FromGguf(*gguf.file);
  EXPECT_EQ(tok->Encode("a\xC3\xA9"
                        "a",
                        false, false),
            (std::vector<int32_t>{sp, a, 0, a}));
}

TEST_F(SpmSmallVocab, SpecialTokensAreCutOutAndTheTextAfterThemGetsAPrefixSpace) {
  // With special parsing, "<s>" and "<unk>" are tokens; the text after each starts with ▁.
  EXPECT_EQ(tok_->Encode("a<s>a", false, true), (std::vector<int32_t>{sp_a_, 1, sp_a_}));
  EXPECT_EQ(tok_->Encode("<s>a", false, true), (std::vector<int32_t>{1, sp_a_}));
  EXPECT_EQ(tok_->Encode("a<unk>", false, true), (std::vector<int32_t>{sp_a_, 0}));
  // Without, "<s>" is text: byte tokens for '<', 's', '>' (none is a piece here).
  EXPECT_EQ(tok_->Encode("a<s>", false, false),
            (std::vector<int32_t>{sp_a_, Byte('<'), Byte('s'), Byte('>')}));
}

TEST_F(SpmSmallVocab, PiecesPrintAsLlamaCliPrintsThem) {
  EXPECT_EQ(tok_->TokenBytes(sp_a_), " a");
  EXPECT_EQ(tok_->TokenText(sp_a_), std::string(kSpace) + "a");
  EXPECT_EQ(tok_->TokenBytes(sp_sp_), "  ");
  EXPECT_EQ(tok_->TokenBytes(Byte(0x0A)), "\n");
  EXPECT_EQ(tok_->TokenBytes(Byte(0xFF)), "\xFF");
  EXPECT_EQ(tok_->TokenBytes(0), "");  // <unk>
  EXPECT_EQ(tok_->TokenBytes(1), "");  // <s>
  EXPECT_EQ(tok_->TokenBytes(2), "");  // </s>
  // The prefix space is printed: llama-cli prints each token's piece without lstrip.
  EXPECT_EQ(tok_->Decode(tok_->Encode("ab c", true, false)), " ab c");
}

// Decode gives back, after the prefix space, any valid UTF-8 text (spaces included) and any
// byte string without spaces (invalid bytes included; with spaces see above), as long as it
// holds no literal ▁, which prints as a space.
TEST_F(SpmSmallVocab, DecodeInvertsEncodeForArbitraryBytes) {
  std::mt19937 rng(12345);
  const std::vector<std::string> valid = {
      "a",  "b",   "c",           " ", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
      "\n", "<s>", "\xE2\x96\x80"};
  for (int round = 0; round < 600; ++round) {
    std::string text;
    const int n = static_cast<int>(rng() % 24);
    const bool raw_bytes = round % 2 == 1;
    for (int i = 0; i < n; ++i) {
      if (raw_bytes && rng() % 3 == 0) {
        text.push_back(static_cast<char>(rng() % 256));
      } else {
        text += valid[rng() % valid.size()];
      }
    }
    if (raw_bytes) std::erase(text, ' ');
    if (text.find(kSpace) != std::string::npos) continue;
    const auto ids = Plain(text);
    ASSERT_EQ(tok_->Decode(ids), text.empty() ? "" : " " + text) << round;
    // Streaming the ids gives the same bytes.
    StreamingDecoder decoder(*tok_);
    std::string streamed;
    for (int32_t id : ids) streamed += decoder.Push(id);
    streamed += decoder.Flush();
    EXPECT_EQ(streamed, tok_->Decode(ids)) << round;
  }
}

TEST_F(SpmSmallVocab, StreamingHoldsACharacterSpreadOverByteTokens) {
  StreamingDecoder decoder(*tok_);
  EXPECT_EQ(decoder.Push(Byte(0xF0)), "");
  EXPECT_EQ(decoder.Push(Byte(0x9F)), "");
  EXPECT_EQ(decoder.Push(Byte(0x98)), "");
  EXPECT_EQ(decoder.pending(), 3u);
  EXPECT_EQ(decoder.Push(Byte(0x80)), "\xF0\x9F\x98\x80");
  EXPECT_EQ(decoder.Push(sp_a_), " a");
}

TEST(SpmTokenizer, EscapingHelpers) {
  EXPECT_EQ(tokenizer::EscapeSpaces("a b", true), std::string(kSpace) + "a" + kSpace + "b");
  EXPECT_EQ(tokenizer::EscapeSpaces("", false), "");
  EXPECT_EQ(tokenizer::UnescapeSpaces(std::string(kSpace) + "x" + kSpace), " x ");
  EXPECT_EQ(tokenizer::ParseByteToken("<0x0A>"), 10);
  EXPECT_EQ(tokenizer::ParseByteToken("<0xff>"), 255);
  EXPECT_EQ(tokenizer::ParseByteToken("<0xG0>"), -1);
  EXPECT_EQ(tokenizer::ParseByteToken("<0x0A"), -1);
}

std::string ErrorOf(const Kvs& kvs) {
  auto gguf = MakeGguf(kvs);
  try {
    Tokenizer::FromGguf(*gguf.file);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

Kvs Without(Kvs kvs, const std::string& key) {
  std::erase_if(kvs, [&](const auto& kv) { return kv.first == key; });
  return kvs;
}
Kvs With(Kvs kvs, const std::string& key, KvValue value) {
  kvs = Without(std::move(kvs), key);
  kvs.emplace_back(key, std::move(value));
  return kvs;
}

TEST(SpmTokenizer, BadFilesAreOneLineErrors) {
  SmallVocab v(true);
  v.Add("a", -1);
  const Kvs good = v.Keys();
  const size_t n = v.tokens.size();
  std::vector<float> nan_scores = v.scores;
  nan_scores[5] = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::string> bad_byte = v.tokens;
  bad_byte[3] = "<0xZZ>";
  const std::vector<std::pair<Kvs, std::string>> cases = {
      {Without(good, "tokenizer.ggml.scores"), "missing key tokenizer.ggml.scores"},
      {With(good, "tokenizer.ggml.scores", KvValue::F32Array(std::vector<float>{1.0f, 2.0f, 3.0f})),
       "tokenizer.ggml.scores has 3 entries for " + std::to_string(n) + " tokens"},
      {With(good, "tokenizer.ggml.scores", KvValue::I32Array(std::vector<int32_t>(n, 0))),
       "tokenizer.ggml.scores holds"},
      {With(good, "tokenizer.ggml.scores", KvValue::F32Array(nan_scores)),
       "tokenizer.ggml.scores[5] is NaN"},
      {With(good, "tokenizer.ggml.scores", KvValue::String("x")), "tokenizer.ggml.scores"},
      {With(good, "tokenizer.ggml.token_type", KvValue::I32Array(std::vector<int32_t>{1, 1})),
       "tokenizer.ggml.token_type has 2 entries for " + std::to_string(n) + " tokens"},
      {With(good, "tokenizer.ggml.tokens", KvValue::StringArray(bad_byte)),
       "tokenizer.ggml.tokens[3] is a BYTE token but not of the form <0xXX>"},
      {With(good, "tokenizer.ggml.unknown_token_id", KvValue::U32(100000)),
       "tokenizer.ggml.unknown_token_id = 100000 is out of range"},
      {With(good, "tokenizer.ggml.add_space_prefix", KvValue::U32(1)),
       "tokenizer.ggml.add_space_prefix"},
      {With(good, "tokenizer.ggml.model", KvValue::String("bert")),
       "unsupported tokenizer.ggml.model 'bert'"},
  };
  for (const auto& [kvs, expected] : cases) {
    const std::string error = ErrorOf(kvs);
    EXPECT_NE(error.find(expected), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
  EXPECT_EQ(ErrorOf(good), "(no error)");
}

// The synthetic SentencePiece vocabulary is in LLaMA's layout and tokenizes its own text into
// learned pieces.
TEST(SpmTokenizer, SynthVocabularyHasLlamasLayout) {
  const synth::Vocab v = synth::SpmVocab(32002);
  ASSERT_EQ(v.tokens.size(), 32002u);
  ASSERT_EQ(v.scores.size(), 32002u);
  EXPECT_EQ(v.tokens[0], "<unk>");
  EXPECT_EQ(v.tokens[1], "<s>");
  EXPECT_EQ(v.tokens[2], "</s>");
  EXPECT_EQ(v.tokens[3 + 0x0A], "<0x0A>");
  EXPECT_EQ(v.token_types[3 + 0x0A], synth::kTokenByte);
  EXPECT_EQ(v.tokens[32000], "[PAD1]");  // as bitnet.cpp pads LLaMA's 32000 to 32002
  EXPECT_EQ(v.tokens[32001], "[PAD2]");
  EXPECT_EQ(v.token_types[32001], synth::kTokenUnused);
  EXPECT_EQ(v.tokens[31999].rfind(kSpace, 0), 0u);
  EXPECT_THROW(synth::SpmVocab(synth::MinSpmVocab() - 1), Error);
  EXPECT_EQ(synth::SpmVocab(synth::MinSpmVocab()).tokens.size(),
            static_cast<size_t>(synth::MinSpmVocab()));

  auto gguf = MakeGguf({{"tokenizer.ggml.model", KvValue::String("llama")},
                        {"tokenizer.ggml.tokens", KvValue::StringArray(v.tokens)},
                        {"tokenizer.ggml.scores", KvValue::F32Array(v.scores)},
                        {"tokenizer.ggml.token_type", KvValue::I32Array(v.token_types)}});
  const auto tok = Tokenizer::FromGguf(*gguf.file);
  const std::string text = "The capital of France is Paris.";
  const auto ids = tok->Encode(text, true, true);
  EXPECT_LT(ids.size(), text.size() * 2 / 3);  // learned pieces, not characters
  EXPECT_EQ(tok->Decode(ids), " " + text);
}

// A whole 1bitLLM-shaped model (arch bitnet-b1.58, sentencepiece vocabulary) through the CLI.
TEST(SpmTokenizer, SynthModelRunsAndTokenizesFromTheCli) {
  const testing::TempDir dir;
  const std::string model = dir.File("spm.gguf");
  auto r = testing::RunCli({"synth", "-o", model, "--vocab", "spm", "--n-vocab", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const auto file = gguf::GgufFile::Open(model);
  EXPECT_EQ(file->GetString("tokenizer.ggml.model"), "llama");
  const auto tok = Tokenizer::FromGguf(*file);
  EXPECT_EQ(tok->model(), TokenizerModel::kSpm);
  EXPECT_EQ(tok->n_vocab(), 1000);

  r = testing::RunCli({"inspect", model});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  r = testing::RunCli({"tokenize", "-m", model, "-p", "Hello world! caf\xC3\xA9"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).get<std::vector<int32_t>>(),
            tok->Encode("Hello world! caf\xC3\xA9", true, true));

  const std::vector<std::string> run = {"run", "-m", model,    "-p", "Once upon a time",
                                        "-n",  "12", "--temp", "0"};
  std::vector<std::string> json_run = run;
  json_run.push_back("--json");
  r = testing::RunCli(json_run);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["prompt_ids"].get<std::vector<int32_t>>(),
            tok->Encode("Once upon a time", true, true));
  const auto ids = out["ids"].get<std::vector<int32_t>>();
  ASSERT_FALSE(ids.empty());
  // Plain output is the generated pieces as streamed, then a newline.
  r = testing::RunCli(run);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, tok->Decode(ids) + "\n");
  EXPECT_GT(r.out.size(), 1u);

  // llama-cli echoes the prompt as its pieces: with the prefix space.
  r = testing::RunProgram(testing::BinProgram("llama-cli"),
                          {"-m", model, "-p", "Once upon a time", "-n", "4", "--temp", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind(" Once upon a time", 0), 0u) << r.out;
  // llama-tokenize renders <s> and <unk> as their text, the others as their pieces.
  r = testing::RunProgram(testing::BinProgram("llama-tokenize"), {"-m", model, "-p", "<unk>a b"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 -> '<s>'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 -> '<unk>'"), std::string::npos) << r.out;

  // The presets of 1bitLLM's models write the sentencepiece vocabulary; --vocab bpe overrides.
  EXPECT_EQ(synth::Preset("bitnet-0.7b").vocab, synth::SynthConfig::Vocab::kSpm);
  EXPECT_EQ(synth::Preset("tiny").vocab, synth::SynthConfig::Vocab::kBpe);
  r = testing::RunCli({"synth", "-o", dir.File("x.gguf"), "--vocab", "wordpiece"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--vocab 'wordpiece'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace bitjit
