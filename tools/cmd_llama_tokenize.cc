// llama-tokenize: `llama-tokenize -m MODEL -p TEXT [--ids]`, printed as llama-tokenize prints
// it: one "    ID -> 'piece'" line per token, or with --ids one Python-style list [1, 2, 3].
// Special tokens show their text (llama-tokenize renders them); a piece that is not whole UTF-8
// (a byte of a split character) is shown as hex bytes <e6 97>, as llama-tokenize does.
#include <gflags/gflags.h>

#include <cstdio>
#include <iostream>
#include <iterator>

#include "frontend/gguf/gguf_file.h"
#include "frontend/gguf/utf8.h"
#include "frontend/tokenizer/tokenizer.h"
#include "ir/base/error.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/id_list.h"
#include "tools/llama_flags.h"
#include "tools/tokenizer_flags.h"

DECLARE_bool(stdin);
DECLARE_bool(bos);
DECLARE_bool(parse_special);
DECLARE_string(pre_tokenizer);
DEFINE_bool(print_ids, false, "print only the ids, as a list [1, 2, 3]");
DEFINE_bool(show_count, false, "print the total number of tokens at the end");

namespace bitjit::cli {
namespace {

std::string Piece(const Tokenizer& tok, int32_t id) {
  // As llama-tokenize prints them (special rendering on): CONTROL and UNKNOWN as their text.
  const TokenType type = tok.token_type(id);
  if (type == TokenType::kControl || type == TokenType::kUnknown)
    return std::string(tok.TokenText(id));
  return tok.TokenBytes(id);
}

std::string HexBytes(std::string_view bytes) {
  std::string out = "<";
  for (size_t i = 0; i < bytes.size(); ++i) {
    char hex[4];
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(bytes[i]));
    if (i > 0) out += ' ';
    out += hex;
  }
  return out + ">";
}

std::string InputText() {
  const int sources = !FLAGS_p.empty() + !FLAGS_f.empty() + FLAGS_stdin;
  if (sources != 1) Fail("give exactly one of -p TEXT, -f FILE and --stdin");
  if (!FLAGS_f.empty()) return ReadTextFile(FLAGS_f);
  if (FLAGS_stdin) return std::string(std::istreambuf_iterator<char>(std::cin), {});
  return FLAGS_p;
}

int RunLlamaTokenize(const Args& args) {
  if (!args.positional.empty()) Fail("unexpected argument '", args.positional[0], "'");
  NoteLlamaFlags("llama-tokenize");
  if (FLAGS_m.empty()) Fail("-m MODEL is required");
  const std::string text = InputText();
  const auto file = gguf::GgufFile::Open(FLAGS_m);
  const auto tok = Tokenizer::FromGguf(*file, ParsePreTokenizerKind(FLAGS_pre_tokenizer));
  const std::vector<int32_t> ids = tok->Encode(text, FLAGS_bos, FLAGS_parse_special);
  if (FLAGS_print_ids) {
    std::string list = "[";
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) list += ", ";
      list += std::to_string(ids[i]);
    }
    std::printf("%s]\n", list.c_str());
  } else {
    for (int32_t id : ids) {
      const std::string piece = Piece(*tok, id);
      const bool whole = IsValidUtf8(piece);
      std::printf("%6d -> '%s'%s\n", id, whole ? piece.c_str() : HexBytes(piece).c_str(),
                  whole ? "" : " (utf-8 decode failure)");
    }
  }
  if (FLAGS_show_count) std::printf("Total number of tokens: %zu\n", ids.size());
  return 0;
}

}  // namespace

BITJIT_COMMAND(llama_tokenize, "llama-tokenize",
               "llama.cpp's llama-tokenize: the tokens of a text, with their pieces",
               "-m MODEL (-p TEXT | -f FILE | --stdin) [--ids] [--no-bos] [--no-parse-special] "
               "[--show-count]",
               {"m", "p", "f", "stdin", "bos", "parse_special", "pre_tokenizer", "print_ids",
                "show_count", "log_disable"},
               &RunLlamaTokenize,
               {{"-m", "m"},
                {"--model", "m"},
                {"-p", "p"},
                {"--prompt", "p"},
                {"-f", "f"},
                {"--file", "f"},
                {"--ids", "print_ids"}});

}  // namespace bitjit::cli
