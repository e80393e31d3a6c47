// The tokenizer against reference ids: Hugging Face's Llama-3 tokenizer (expected.jsonl,
// fuzz.jsonl), bitnet.cpp's llama-tokenize (bitnet_cpp_ids.jsonl) and bitnet.cpp's prompt ids
// of the golden models; plus decoding, streaming, the chat format, bad files and the CLI.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "frontend/gguf/gguf_file.h"
#include "frontend/gguf/gguf_writer.h"
#include "frontend/tokenizer/bpe.h"
#include "frontend/tokenizer/byte_unicode.h"
#include "frontend/tokenizer/chat_format.h"
#include "frontend/tokenizer/pre_tokenizer.h"
#include "frontend/tokenizer/streaming_decoder.h"
#include "frontend/tokenizer/tokenizer.h"
#include "frontend/tokenizer/utf8_chars.h"
#include "ir/base/error.h"
#include "tests/testing/memory_gguf.h"

namespace bitjit {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kShared = BITJIT_SHARED_DIR;
const std::string kTokDir = kShared + "/tokenizer";
const std::string kVocab = kTokDir + "/llama3-vocab.gguf";

std::vector<json> ReadJsonl(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

// The text as a JSON string (escapes control characters, shows invisible ones).
std::string Quote(const std::string& text) {
  return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string IdsString(const std::vector<int32_t>& ids) {
  return json(ids).dump();
}

// A readable account of a mismatch: the text, both id lists, and each side's tokens.
std::string Mismatch(const Tokenizer& tok, const std::string& text,
                     const std::vector<int32_t>& expected, const std::vector<int32_t>& got) {
  std::ostringstream os;
  const auto tokens = [&](const std::vector<int32_t>& ids) {
    std::vector<std::string> t;
    for (int32_t id : ids) {
      t.push_back(id >= 0 && id < tok.n_vocab() ? std::string(tok.TokenText(id)) : "?");
    }
    return json(t).dump(-1, ' ', false, json::error_handler_t::replace);
  };
  os << "text     " << Quote(text) << "\nexpected " << IdsString(expected) << "\n         "
     << tokens(expected) << "\ngot      " << IdsString(got) << "\n         " << tokens(got) << "\n";
  return os.str();
}

class Llama3Vocab : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    file_ = gguf::GgufFile::Open(kVocab).release();
    llama3_ = Tokenizer::FromGguf(*file_).release();
    fallback_ = Tokenizer::FromGguf(*file_, PreTokenizerKind::kDefault).release();
  }
  static void TearDownTestSuite() {
    delete fallback_;
    delete llama3_;
    delete file_;
  }

  // Checks every record of a jsonl file; `key` holds the expected ids. Reports the first
  // mismatches in full and the pass count.
  static void CheckFile(const Tokenizer& tok, const std::string& path, const std::string& key,
                        bool parse_special) {
    const std::vector<json> records = ReadJsonl(path);
    ASSERT_FALSE(records.empty()) << path;
    size_t passed = 0, shown = 0;
    for (const json& r : records) {
      const std::string text = r.at("text");
      const std::vector<int32_t> expected = r.at(key);
      const std::vector<int32_t> got = tok.Encode(text, /*add_bos=*/false, parse_special);
      if (got == expected) {
        ++passed;
      } else if (shown++ < 10) {
        ADD_FAILURE() << fs::path(path).filename().string() << " " << key << ":\n"
                      << Mismatch(tok, text, expected, got);
      }
    }
    std::printf("[ tokenizer ] %s %s: %zu/%zu passed\n", fs::path(path).filename().c_str(),
                key.c_str(), passed, records.size());
    EXPECT_EQ(passed, records.size()) << path << " " << key;
  }

  static gguf::GgufFile* file_;
  static Tokenizer* llama3_;
  static Tokenizer* fallback_;
};
gguf::GgufFile* Llama3Vocab::file_ = nullptr;
Tokenizer* Llama3Vocab::llama3_ = nullptr;
Tokenizer* Llama3Vocab::fallback_ = nullptr;

TEST_F(Llama3Vocab, ReadsTheVocabulary) {
  EXPECT_EQ(llama3_->n_vocab(), 128256);
  EXPECT_EQ(llama3_->bos_id(), 128000);
  EXPECT_EQ(llama3_->eos_id(), 128001);
  EXPECT_EQ(llama3_->TokenText(llama3_->eot_id()), "<|eot_id|>");
  EXPECT_TRUE(llama3_->add_bos());
  EXPECT_EQ(llama3_->skipped_merges(), 0u);
  // No tokenizer.ggml.pre in the file: a Llama-3 vocabulary gets the Llama-3 rule.
  EXPECT_EQ(file_->Find("tokenizer.ggml.pre"), nullptr);
  EXPECT_EQ(llama3_->pre_tokenizer(), PreTokenizerKind::kLlama3);
  EXPECT_EQ(fallback_->pre_tokenizer(), PreTokenizerKind::kDefault);
  EXPECT_TRUE(llama3_->IsEndOfGeneration(llama3_->eos_id()));
  EXPECT_TRUE(llama3_->IsEndOfGeneration(llama3_->eot_id()));
  EXPECT_FALSE(llama3_->IsEndOfGeneration(llama3_->bos_id()));
  EXPECT_FALSE(llama3_->IsEndOfGeneration(0));
}

TEST_F(Llama3Vocab, ExpectedWithSpecials) {
  CheckFile(*llama3_, kTokDir + "/expected.jsonl", "ids", true);
}
TEST_F(Llama3Vocab, ExpectedWithoutSpecials) {
  CheckFile(*llama3_, kTokDir + "/expected.jsonl", "ids_nospecial", false);
}
TEST_F(Llama3Vocab, FuzzWithSpecials) {
  CheckFile(*llama3_, kTokDir + "/fuzz.jsonl", "ids", true);
}
TEST_F(Llama3Vocab, FuzzWithoutSpecials) {
  CheckFile(*llama3_, kTokDir + "/fuzz.jsonl", "ids_nospecial", false);
}
// bitnet.cpp's own ids: its fallback pre-tokenizer and no ignore_merges.
TEST_F(Llama3Vocab, BitnetCppFallback) {
  CheckFile(*fallback_, kTokDir + "/bitnet_cpp_ids.jsonl", "ids", true);
}

TEST_F(Llama3Vocab, BosOnlyWhenAsked) {
  const auto with = llama3_->Encode("Hello", true, true);
  const auto without = llama3_->Encode("Hello", false, true);
  ASSERT_EQ(with.size(), without.size() + 1);
  EXPECT_EQ(with[0], llama3_->bos_id());
  EXPECT_TRUE(std::equal(without.begin(), without.end(), with.begin() + 1));
  EXPECT_EQ(llama3_->Encode("", true, true), std::vector<int32_t>{llama3_->bos_id()});
  EXPECT_TRUE(llama3_->Encode("", false, true).empty());
}

std::vector<std::string> RoundTripTexts() {
  std::vector<std::string> texts;
  for (const json& s : ReadJsonl(kTokDir + "/tests.jsonl")) texts.push_back(s.get<std::string>());
  for (const json& r : ReadJsonl(kTokDir + "/fuzz.jsonl")) texts.push_back(r.at("text"));
  // Invalid UTF-8 must survive too: lone continuation bytes, a truncated character, 0xFF,
  // an overlong encoding, a surrogate.
  texts.push_back("a\x80z");
  texts.push_back("trunc \xE2\x82 ated");
  texts.push_back("\xFF\xFE bytes \xC0\xAF over \xED\xA0\x80 long");
  texts.push_back(std::string("nul\0byte", 8));
  return texts;
}

TEST_F(Llama3Vocab, DecodeInvertsEncode) {
  size_t failures = 0;
  for (const Tokenizer* tok : {llama3_, fallback_}) {
    for (const std::string& text : RoundTripTexts()) {
      // Control tokens print as nothing, so special text must stay plain here.
      const auto ids = tok->Encode(text, false, /*parse_special=*/false);
      const std::string back = tok->Decode(ids);
      if (back != text && failures++ < 5) {
        ADD_FAILURE() << PreTokenizerName(tok->pre_tokenizer()) << ": " << Quote(text)
                      << " decodes as " << Quote(back) << " from " << IdsString(ids);
      }
    }
  }
  EXPECT_EQ(failures, 0u);
}

TEST_F(Llama3Vocab, TokenBytes) {
  const auto world = llama3_->Encode(" world", false, false);
  ASSERT_EQ(world.size(), 1u);
  EXPECT_EQ(llama3_->TokenText(world[0]), "\xC4\xA0world");  // "Ġworld"
  EXPECT_EQ(llama3_->TokenBytes(world[0]), " world");
  EXPECT_EQ(llama3_->TokenBytes(llama3_->bos_id()), "");  // CONTROL prints nothing
  EXPECT_EQ(llama3_->TokenBytes(llama3_->eot_id()), "");
  EXPECT_THROW(llama3_->TokenBytes(-1), Error);
  EXPECT_THROW(llama3_->TokenBytes(llama3_->n_vocab()), Error);
  const std::vector<int32_t> bad{1, 999999};
  EXPECT_THROW(llama3_->Decode(bad), Error);
}

// The heap-based merge loop (long pieces) must agree with the scan (short pieces).
TEST_F(Llama3Vocab, LongPieceMergeAgreesWithShort) {
  const auto tokens = file_->GetStringArray("tokenizer.ggml.tokens");
  const auto merges = file_->GetStringArray("tokenizer.ggml.merges");
  const tokenizer::BpeModel scan(tokens, merges);
  const tokenizer::BpeModel heap(tokens, merges, /*small_piece_limit=*/0);
  const tokenizer::PreTokenizer pre(PreTokenizerKind::kLlama3);
  size_t pieces_checked = 0, failures = 0;
  std::vector<std::string> texts = RoundTripTexts();
  texts.push_back(std::string(300, 'a') + " " + std::string(200, '=') + " xyzzy" +
                  std::string(100, '!'));
  for (const std::string& text : texts) {
    std::vector<std::string_view> pieces;
    pre.Split(text, &pieces);
    for (std::string_view piece : pieces) {
      std::vector<int32_t> a, b;
      scan.Encode(piece, /*ignore_merges=*/false, &a);
      heap.Encode(piece, /*ignore_merges=*/false, &b);
      ++pieces_checked;
      if (a != b && failures++ < 5) {
        ADD_FAILURE() << Quote(std::string(piece)) << ": scan " << IdsString(a) << " heap "
                      << IdsString(b);
      }
    }
  }
  EXPECT_GT(pieces_checked, 5000u);
  EXPECT_EQ(failures, 0u);
}

// The decoder holds back a character split across byte tokens.
TEST_F(Llama3Vocab, StreamingHoldsSplitCharacters) {
  const std::string emoji = "\xF0\x9F\x98\x80";  // U+1F600, 4 bytes
  // Each byte alone (invalid UTF-8 on its own) is its byte token.
  std::vector<int32_t> byte_ids;
  for (char c : emoji) {
    const auto ids = llama3_->Encode(std::string(1, c), false, false);
    ASSERT_EQ(ids.size(), 1u);
    ASSERT_EQ(llama3_->TokenBytes(ids[0]), std::string(1, c));
    byte_ids.push_back(ids[0]);
  }
  const auto a = llama3_->Encode("a", false, false);
  ASSERT_EQ(a.size(), 1u);

  StreamingDecoder d(*llama3_);
  EXPECT_EQ(d.Push(a[0]), "a");
  for (size_t i = 0; i + 1 < byte_ids.size(); ++i) {
    EXPECT_EQ(d.Push(byte_ids[i]), "") << "byte " << i;
    EXPECT_EQ(d.pending(), i + 1);
  }
  EXPECT_EQ(d.Push(byte_ids.back()), emoji);
  EXPECT_EQ(d.pending(), 0u);

  // A character left unfinished at the end comes out of Flush.
  EXPECT_EQ(d.Push(byte_ids[0]), "");
  EXPECT_EQ(d.Push(byte_ids[1]), "");
  EXPECT_EQ(d.Flush(), emoji.substr(0, 2));
  EXPECT_EQ(d.pending(), 0u);

  // A sequence that cannot become valid is not held: 0xF0 then 'a'.
  EXPECT_EQ(d.Push(byte_ids[0]), "");
  EXPECT_EQ(d.Push(a[0]),
            "\xF0"
            "a");
  // Nor is a lone continuation byte.
  EXPECT_EQ(d.Push(byte_ids[1]), "\x9F");
}

// Streaming any text gives back the text, and every piece ends on a character boundary.
TEST_F(Llama3Vocab, StreamingReproducesDecode) {
  for (const std::string& text : RoundTripTexts()) {
    const auto ids = llama3_->Encode(text, false, false);
    StreamingDecoder d(*llama3_);
    std::string all;
    for (int32_t id : ids) {
      const std::string piece = d.Push(id);
      EXPECT_EQ(tokenizer::CompleteUtf8Prefix(piece), piece.size()) << Quote(text);
      all += piece;
    }
    all += d.Flush();
    EXPECT_EQ(all, text);
  }
}

TEST(ByteUnicode, Gpt2Table) {
  EXPECT_EQ(tokenizer::ByteToUnicode(' '), "\xC4\xA0");   // U+0120 'Ġ'
  EXPECT_EQ(tokenizer::ByteToUnicode('\n'), "\xC4\x8A");  // U+010A 'Ċ'
  EXPECT_EQ(tokenizer::ByteToUnicode('A'), "A");
  EXPECT_EQ(tokenizer::ByteToUnicode(0xAD), "\xC5\x83");  // the 68th remapped byte: U+0143
  // A bijection between the 256 bytes and 256 code points.
  for (int b = 0; b < 256; ++b) {
    std::string raw;
    EXPECT_TRUE(tokenizer::AppendByteDecoded(tokenizer::ByteToUnicode(b), &raw));
    EXPECT_EQ(raw, std::string(1, static_cast<char>(b)));
  }
  std::string raw;
  EXPECT_FALSE(tokenizer::AppendByteDecoded("\xE2\x82\xAC", &raw));  // '€' stands for no byte
}

TEST(PreTokenizer, WhiteSpaceIsUnicodeWhiteSpace) {
  // U+0085 is White_Space, U+FEFF and U+180E are not (PCRE2's own \s would take U+180E).
  const tokenizer::PreTokenizer pre(PreTokenizerKind::kLlama3);
  const auto split = [&](const std::string& text) {
    std::vector<std::string_view> pieces;
    pre.Split(text, &pieces);
    return std::vector<std::string>(pieces.begin(), pieces.end());
  };
  // Two in a row between letters: white space splits as "X", "Xb" (\s+(?!\S), then the
  // optional non-letter before \p{L}+); anything else as "XX", "b".
  const auto check = [&](const std::string& x, bool white) {
    const auto expected = white ? std::vector<std::string>{"a", x, x + "b"}
                                : std::vector<std::string>{"a", x + x, "b"};
    EXPECT_EQ(split("a" + x + x + "b"), expected) << Quote(x);
  };
  check("\xC2\x85", true);       // U+0085 NEXT LINE
  check("\xE1\x9A\x80", true);   // U+1680 OGHAM SPACE MARK
  check("\xE3\x80\x80", true);   // U+3000 IDEOGRAPHIC SPACE
  check("\xEF\xBB\xBF", false);  // U+FEFF BYTE ORDER MARK
  check("\xE1\xA0\x8E", false);  // U+180E MONGOLIAN VOWEL SEPARATOR
  check("\xE2\x80\x8B", false);  // U+200B ZERO WIDTH SPACE
}

TEST(PreTokenizer, FallbackAppliesRegexesInTurn) {
  // Each regex splits the previous pieces: the punctuation regex cuts "'" out of "it's" before
  // the contraction rule could see "'s"; " 12345" loses its space to \p{N}+, then [0-9]{3}
  // cuts the digits.
  const tokenizer::PreTokenizer pre(PreTokenizerKind::kDefault);
  std::vector<std::string_view> pieces;
  pre.Split("x 12345, it's", &pieces);
  EXPECT_EQ(std::vector<std::string>(pieces.begin(), pieces.end()),
            (std::vector<std::string>{"x", " ", "123", "45", ",", " it", "'", "s"}));
}

TEST(PreTokenizer, HugeInputs) {
  // Long runs must neither recurse deeply in the regex engine nor go quadratic in BPE.
  auto file = gguf::GgufFile::Open(kVocab);
  auto tok = Tokenizer::FromGguf(*file);
  for (const std::string& text :
       {std::string(1 << 20, 'a'), std::string(1 << 20, ' '), std::string(1 << 20, '!')}) {
    const auto ids = tok->Encode(text, false, false);
    EXPECT_FALSE(ids.empty());
    EXPECT_EQ(tok->Decode(ids), text);
  }
}

std::vector<std::string> GoldenCaseDirs() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kShared + "/golden")) {
    if (e.is_directory() && fs::exists(e.path() / "case.json")) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// bitnet.cpp's prompt ids (with BOS) for every golden model: a small GPT-2 vocabulary without
// tokenizer.ggml.pre, so the fallback pre-tokenizer.
TEST(GoldenTokenizer, PromptIds) {
  const auto dirs = GoldenCaseDirs();
  ASSERT_FALSE(dirs.empty());
  size_t passed = 0;
  for (const std::string& dir : dirs) {
    SCOPED_TRACE(dir);
    std::ifstream in(dir + "/case.json");
    const json c = json::parse(in);
    auto file = gguf::GgufFile::Open(dir + "/model.gguf");
    auto tok = Tokenizer::FromGguf(*file);
    EXPECT_EQ(tok->pre_tokenizer(), PreTokenizerKind::kDefault);
    EXPECT_EQ(tok->bos_id(), c.at("bos_id").get<int32_t>());
    EXPECT_EQ(tok->eos_id(), c.at("eos_id").get<int32_t>());
    const std::string prompt = c.at("prompt");
    const std::vector<int32_t> expected = c.at("prompt_ids");
    const auto got = tok->Encode(prompt, /*add_bos=*/true, /*parse_special=*/true);
    if (got == expected) {
      ++passed;
    } else {
      ADD_FAILURE() << Mismatch(*tok, prompt, expected, got);
    }
    EXPECT_EQ(tok->Decode(got), prompt);
  }
  std::printf("[ tokenizer ] golden prompts: %zu/%zu passed\n", passed, dirs.size());
}

TEST(ChatFormat, RendersTheBitnetFormat) {
  const std::vector<ChatMessage> chat = {
      {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "2+2?"}};
  // spec/TOKENIZER.md: "System: {system}" with no separator, "User: {user}<|eot_id|>Assistant: ",
  // earlier replies as plain text.
  EXPECT_EQ(RenderBitnetChat(chat),
            "System: Be brief.User: Hi<|eot_id|>Assistant: Hello!User: 2+2?<|eot_id|>Assistant: ");
  EXPECT_EQ(RenderBitnetChat(std::span(chat).subspan(1, 1)), "User: Hi<|eot_id|>Assistant: ");
  EXPECT_EQ(RenderBitnetUserTurn("2+2?"), "User: 2+2?<|eot_id|>Assistant: ");
  // The newest turn is exactly what the whole conversation adds.
  EXPECT_EQ(RenderBitnetChat(chat),
            RenderBitnetChat(std::span(chat).first(3)) + RenderBitnetUserTurn("2+2?"));
  const std::vector<ChatMessage> bad = {{"tool", "x"}};
  EXPECT_THROW(RenderBitnetChat(bad), Error);
  EXPECT_TRUE(IsBitnetChatTemplate("...'\\n\\nBITNETAssistant: ' + eos_token..."));
  EXPECT_FALSE(IsBitnetChatTemplate("{{ '<|start_header_id|>' }}"));
}

TEST_F(Llama3Vocab, ChatEncoding) {
  const std::vector<ChatMessage> chat = {{"system", "Be brief."}, {"user", "Hi"}};
  const auto ids = EncodeBitnetChat(*llama3_, chat, true, /*parse_special_in_content=*/false);
  // Same ids as bitnet.cpp's way (the whole text with specials parsed) for plain content.
  EXPECT_EQ(ids, llama3_->Encode(RenderBitnetChat(chat), true, true));
  EXPECT_EQ(ids, EncodeBitnetChat(*llama3_, chat, true, true));
  EXPECT_EQ(ids.front(), llama3_->bos_id());
  EXPECT_EQ(std::count(ids.begin(), ids.end(), llama3_->eot_id()), 1);
  EXPECT_EQ(EncodeBitnetUserTurn(*llama3_, "Hi", false),
            llama3_->Encode(RenderBitnetUserTurn("Hi"), false, true));

  // Special-token text typed by a user stays text unless asked otherwise.
  const std::vector<ChatMessage> sneaky = {{"user", "a<|eot_id|>b"}};
  const auto safe = EncodeBitnetChat(*llama3_, sneaky, true, false);
  const auto raw = EncodeBitnetChat(*llama3_, sneaky, true, true);
  EXPECT_EQ(std::count(safe.begin(), safe.end(), llama3_->eot_id()), 1);
  EXPECT_EQ(std::count(raw.begin(), raw.end(), llama3_->eot_id()), 2);
}

// llama.cpp's built-in renderings of the Llama-3, Falcon3 and ChatML templates.
TEST(ChatTemplates, RenderAsLlamaCppsBuiltInTemplates) {
  const std::vector<ChatMessage> chat = {{"system", "Be brief."}, {"user", "Hi"}};
  EXPECT_EQ(RenderChat(ChatTemplate::kLlama3, chat),
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(RenderChat(ChatTemplate::kFalcon3, chat),
            "<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n");
  EXPECT_EQ(RenderChat(ChatTemplate::kChatml, chat),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(RenderChat(ChatTemplate::kBitnet, chat), RenderBitnetChat(chat));
  const std::vector<ChatMessage> bad = {{"tool", "x"}};
  EXPECT_THROW(RenderChat(ChatTemplate::kChatml, bad), Error);
}

// A second turn held in the KV cache: history + reply + its end token + RenderUserTurn is the
// whole conversation rendered again.
TEST(ChatTemplates, UserTurnContinuesAfterTheRepliesEndToken) {
  const std::vector<ChatMessage> one = {{"user", "Hi"}};
  const std::vector<ChatMessage> two = {{"user", "Hi"}, {"assistant", "Hello!"}, {"user", "2+2?"}};
  EXPECT_EQ(RenderChat(ChatTemplate::kLlama3, two),
            RenderChat(ChatTemplate::kLlama3, one) + "Hello!" + "<|eot_id|>" +
                RenderUserTurn(ChatTemplate::kLlama3, "2+2?"));
  EXPECT_EQ(RenderChat(ChatTemplate::kChatml, two),
            RenderChat(ChatTemplate::kChatml, one) + "Hello!" + "<|im_end|>" +
                RenderUserTurn(ChatTemplate::kChatml, "2+2?"));
  // Falcon3 ends a reply with EOS, which the template does not write.
  EXPECT_EQ(RenderChat(ChatTemplate::kFalcon3, two),
            RenderChat(ChatTemplate::kFalcon3, one) + "Hello!" +
                RenderUserTurn(ChatTemplate::kFalcon3, "2+2?"));
}

TEST(ChatTemplates, NamesAndDetection) {
  for (ChatTemplate t : {ChatTemplate::kBitnet, ChatTemplate::kLlama3, ChatTemplate::kFalcon3,
                         ChatTemplate::kChatml}) {
    EXPECT_EQ(ParseChatTemplate(ChatTemplateName(t)), t);
  }
  EXPECT_THROW(ParseChatTemplate("zephyr"), Error);
  EXPECT_EQ(DetectChatTemplate("...BITNETAssistant: ..."), ChatTemplate::kBitnet);
  EXPECT_EQ(DetectChatTemplate("{{ '<|start_header_id|>' + message['role'] + "
                               "'<|end_header_id|>\n\n' }}"),
            ChatTemplate::kLlama3);
  EXPECT_EQ(DetectChatTemplate("{{'<|im_start|>' + message['role'] + '\n'}}"),
            ChatTemplate::kChatml);
  EXPECT_EQ(DetectChatTemplate("{{ '<|user|>\n' + content }}{{ '<|assistant|>\n' }}"),
            ChatTemplate::kFalcon3);
  EXPECT_EQ(DetectChatTemplate(""), ChatTemplate::kBitnet);
}

// The format's markers are special tokens, contents plain text unless asked otherwise.
TEST_F(Llama3Vocab, Llama3ChatEncoding) {
  const std::vector<ChatMessage> chat = {{"system", "Be brief."}, {"user", "a<|eot_id|>b"}};
  const auto safe = EncodeChat(*llama3_, ChatTemplate::kLlama3, chat, true, false);
  const auto raw = EncodeChat(*llama3_, ChatTemplate::kLlama3, chat, true, true);
  EXPECT_EQ(raw, llama3_->Encode(RenderChat(ChatTemplate::kLlama3, chat), true, true));
  EXPECT_EQ(safe.front(), llama3_->bos_id());
  EXPECT_EQ(std::count(safe.begin(), safe.end(), llama3_->eot_id()), 2);
  EXPECT_EQ(std::count(raw.begin(), raw.end(), llama3_->eot_id()), 3);
  const int32_t header = llama3_->FindToken("<|start_header_id|>");
  ASSERT_GE(header, 0);
  EXPECT_EQ(std::count(safe.begin(), safe.end(), header), 3);
  const std::vector<ChatMessage> plain = {{"user", "Hi"}};
  EXPECT_EQ(EncodeChat(*llama3_, ChatTemplate::kLlama3, plain, true, false),
            llama3_->Encode(RenderChat(ChatTemplate::kLlama3, plain), true, true));
}

// Contents with no special-token text get the ids of the whole rendered prompt, on every format,
// also where a content's first characters would merge with the format's text before it
// ("\n\n" then "\n\nx" is one run of newlines, not two).
TEST_F(Llama3Vocab, EveryFormatEncodesAsTheWholeRenderedText) {
  const std::vector<ChatMessage> chat = {{"system", "\n  Be brief. "},
                                         {"user", "\n\nHi 123"},
                                         {"assistant", "  Hello!\n"},
                                         {"user", "4567"}};
  for (ChatTemplate t : {ChatTemplate::kBitnet, ChatTemplate::kLlama3, ChatTemplate::kFalcon3,
                         ChatTemplate::kChatml}) {
    SCOPED_TRACE(std::string(ChatTemplateName(t)));
    EXPECT_EQ(EncodeChat(*llama3_, t, chat, true, false),
              llama3_->Encode(RenderChat(t, chat), true, true));
    EXPECT_EQ(EncodeUserTurn(*llama3_, t, "\n\n  x", false),
              llama3_->Encode(RenderUserTurn(t, "\n\n  x"), false, true));
  }
}

using testing::MakeGguf;
using testing::MemoryGguf;

std::string ErrorOf(const gguf::GgufFile& file, PreTokenizerKind kind = PreTokenizerKind::kAuto) {
  try {
    Tokenizer::FromGguf(file, kind);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TokenizerErrors, BadFilesAreNamed) {
  using gguf::KvValue;
  const std::vector<std::string> tokens = {"a", "b", "ab", "<|x|>"};
  const std::vector<std::string> merges = {"a b"};
  const auto model = KvValue::String("gpt2");

  EXPECT_EQ(ErrorOf(*MakeGguf({}).file), "missing key tokenizer.ggml.model");
  EXPECT_NE(ErrorOf(*MakeGguf({{"tokenizer.ggml.model", KvValue::String("bert")}}).file)
                .find("unsupported tokenizer.ggml.model 'bert'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(*MakeGguf({{"tokenizer.ggml.model", model}}).file)
                .find("missing key tokenizer.ggml.tokens"),
            std::string::npos);
  EXPECT_NE(ErrorOf(*MakeGguf({{"tokenizer.ggml.model", model},
                               {"tokenizer.ggml.tokens", KvValue::StringArray(tokens)}})
                         .file)
                .find("missing key tokenizer.ggml.merges"),
            std::string::npos);
  const std::vector<int32_t> three_types = {1, 1, 1};
  EXPECT_NE(ErrorOf(*MakeGguf({{"tokenizer.ggml.model", model},
                               {"tokenizer.ggml.tokens", KvValue::StringArray(tokens)},
                               {"tokenizer.ggml.merges", KvValue::StringArray(merges)},
                               {"tokenizer.ggml.token_type", KvValue::I32Array(three_types)}})
                         .file)
                .find("tokenizer.ggml.token_type has 3 entries for 4 tokens"),
            std::string::npos);
  EXPECT_NE(ErrorOf(*MakeGguf({{"tokenizer.ggml.model", model},
                               {"tokenizer.ggml.tokens", KvValue::StringArray(tokens)},
                               {"tokenizer.ggml.merges", KvValue::StringArray(merges)},
                               {"tokenizer.ggml.pre", KvValue::String("qwen2")}})
                         .file)
                .find("unknown tokenizer.ggml.pre 'qwen2'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(*MakeGguf({{"tokenizer.ggml.model", model},
                               {"tokenizer.ggml.tokens", KvValue::StringArray(tokens)},
                               {"tokenizer.ggml.merges", KvValue::StringArray(merges)},
                               {"tokenizer.ggml.bos_token_id", KvValue::U32(4)}})
                         .file)
                .find("tokenizer.ggml.bos_token_id = 4 is out of range"),
            std::string::npos);
  EXPECT_THROW(ParsePreTokenizerKind("gpt4"), Error);
}

// The pre names llama.cpp's converter writes for the models bitnet.cpp runs all mean the
// Llama-3 rule (with ignore_merges); an unknown name is refused above.
TEST(TokenizerPreNames, LlamaFamilyNamesSelectTheLlama3Rule) {
  using gguf::KvValue;
  const std::vector<std::string> tokens = {"a", "b", "ab", "<|x|>"};
  const std::vector<std::string> merges = {"a b"};
  for (const char* name : {"llama-bpe", "llama3", "llama-v3", "falcon3", "falcon_e", "default"}) {
    auto gguf = MakeGguf({{"tokenizer.ggml.model", KvValue::String("gpt2")},
                          {"tokenizer.ggml.tokens", KvValue::StringArray(tokens)},
                          {"tokenizer.ggml.merges", KvValue::StringArray(merges)},
                          {"tokenizer.ggml.pre", KvValue::String(name)}});
    const auto tok = Tokenizer::FromGguf(*gguf.file);
    EXPECT_EQ(tok->ignore_merges(), std::string_view(name) != "default") << name;
  }
}

// The Tokenizer picks its chat format from tokenizer.chat_template, and ChatML's end of turn.
TEST(ChatTemplates, TokenizerReadsTheFilesTemplate) {
  using gguf::KvValue;
  const std::vector<std::string> tokens = {"a", "b", "ab", "<|im_end|>"};
  const std::vector<std::string> merges = {"a b"};
  auto chatml = MakeGguf({{"tokenizer.ggml.model", KvValue::String("gpt2")},
                          {"tokenizer.ggml.tokens", KvValue::StringArray(tokens)},
                          {"tokenizer.ggml.merges", KvValue::StringArray(merges)},
                          {"tokenizer.chat_template", KvValue::String("<|im_start|>{{x}}")}});
  const auto tok = Tokenizer::FromGguf(*chatml.file);
  EXPECT_EQ(tok->chat_template(), ChatTemplate::kChatml);
  EXPECT_EQ(tok->eot_id(), 3);
  EXPECT_TRUE(tok->IsEndOfGeneration(3));
  auto none = MakeGguf({{"tokenizer.ggml.model", KvValue::String("gpt2")},
                        {"tokenizer.ggml.tokens", KvValue::StringArray(tokens)},
                        {"tokenizer.ggml.merges", KvValue::StringArray(merges)}});
  EXPECT_EQ(Tokenizer::FromGguf(*none.file)->chat_template(), ChatTemplate::kBitnet);
}

// A tiny vocabulary: merge ranks, skipped merges, user-defined and control tokens.
TEST(TokenizerSmallVocab, MergesAndSpecials) {
  using gguf::KvValue;
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.emplace_back(tokenizer::ByteToUnicode(b));
  const int32_t ab = static_cast<int32_t>(tokens.size());
  tokens.push_back("ab");
  const int32_t bc = ab + 1;
  tokens.push_back("bc");
  const int32_t abc = ab + 2;
  tokens.push_back("abc");
  const int32_t user = ab + 3;
  tokens.push_back("[U]");
  const int32_t control = ab + 4;
  tokens.push_back("<c>");
  std::vector<int32_t> types(tokens.size(), 1);
  types[user] = 4;
  types[control] = 3;
  // "b c" ranks before "a b": "abc" becomes a + bc (then no merge "a bc"), not ab + c.
  const std::vector<std::string> merges = {"b c", "x zz", "a b", "ab c"};
  auto m = MakeGguf({{"tokenizer.ggml.model", KvValue::String("gpt2")},
                     {"tokenizer.ggml.tokens", KvValue::StringArray(tokens)},
                     {"tokenizer.ggml.token_type", KvValue::I32Array(types)},
                     {"tokenizer.ggml.merges", KvValue::StringArray(merges)},
                     {"tokenizer.ggml.bos_token_id", KvValue::U32(control)},
                     {"tokenizer.ggml.add_bos_token", KvValue::Bool(false)}});
  auto tok = Tokenizer::FromGguf(*m.file);
  EXPECT_EQ(tok->pre_tokenizer(), PreTokenizerKind::kDefault);
  EXPECT_EQ(tok->skipped_merges(), 1u);  // "x zz": "zz" is not a token
  EXPECT_FALSE(tok->add_bos());
  EXPECT_EQ(tok->eot_id(), -1);
  EXPECT_EQ(tok->Encode("abc", true, true), (std::vector<int32_t>{'a', bc}));
  EXPECT_EQ(tok->Encode("ab", true, true), (std::vector<int32_t>{ab}));
  // With Llama-3's ignore_merges, a piece that is a token is taken whole.
  auto llama3 = Tokenizer::FromGguf(*m.file, PreTokenizerKind::kLlama3);
  EXPECT_EQ(llama3->Encode("abc", false, true), (std::vector<int32_t>{abc}));
  // USER_DEFINED tokens are matched with or without special parsing, CONTROL ones only with.
  EXPECT_EQ(tok->Encode("[U]<c>", false, true), (std::vector<int32_t>{user, control}));
  const auto plain = tok->Encode("[U]<c>", false, false);
  EXPECT_EQ(plain.front(), user);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), control), 0);
  EXPECT_EQ(tok->TokenBytes(user), "[U]");
  EXPECT_EQ(tok->TokenBytes(control), "");
}

// The CLI prints what the library computes.
std::string RunCommand(const std::string& command, int* status) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  *status = pclose(pipe);
  return out;
}

TEST_F(Llama3Vocab, CliTokenize) {
  const std::string cli = BITJIT_CLI;
  int status = 0;
  const std::string out =
      RunCommand(cli + " tokenize -m '" + kVocab + "' -p 'Hello world! <|eot_id|>'", &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(json::parse(out).get<std::vector<int32_t>>(),
            llama3_->Encode("Hello world! <|eot_id|>", true, true));

  const std::string nobos = RunCommand(
      cli + " tokenize -m '" + kVocab + "' -p 'x<|eot_id|>' --no-bos --no-parse-special", &status);
  ASSERT_EQ(status, 0) << nobos;
  EXPECT_EQ(json::parse(nobos).get<std::vector<int32_t>>(),
            llama3_->Encode("x<|eot_id|>", false, false));

  // --json-lines: one JSON string per line in, one array per line out.
  const fs::path input = fs::temp_directory_path() / ("bitjit_tok_" + std::to_string(getpid()));
  const auto texts = ReadJsonl(kTokDir + "/tests.jsonl");
  {
    std::ofstream f(input);
    for (const json& t : texts) f << t.dump() << "\n";
  }
  const std::string lines =
      RunCommand(cli + " tokenize -m '" + kVocab +
                     "' --json-lines --no-bos --pre-tokenizer default < '" + input.string() + "'",
                 &status);
  fs::remove(input);
  ASSERT_EQ(status, 0) << lines;
  std::istringstream in(lines);
  std::string line;
  size_t i = 0;
  for (; std::getline(in, line) && i < texts.size(); ++i) {
    EXPECT_EQ(json::parse(line).get<std::vector<int32_t>>(),
              fallback_->Encode(texts[i].get<std::string>(), false, true))
        << Quote(texts[i]);
  }
  EXPECT_EQ(i, texts.size());

  const std::string bad =
      RunCommand(cli + " tokenize -m '" + kVocab + "' -p x --pre-tokenizer gpt9 2>&1", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(bad.find("unknown pre-tokenizer 'gpt9'"), std::string::npos) << bad;
}

}  // namespace
}  // namespace bitjit
