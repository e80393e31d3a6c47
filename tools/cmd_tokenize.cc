// bitjit tokenize -m MODEL [-p TEXT | --stdin] [--no-bos] [--no-parse-special] [--json-lines]
//                 [--pre-tokenizer llama3|default]
// Prints the token ids of a text as one JSON array. With --json-lines, every stdin line is a
// JSON string and one array is printed per line (for comparing against other tokenizers).
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "frontend/gguf/gguf_file.h"
#include "frontend/tokenizer/tokenizer.h"
#include "ir/base/error.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/tokenizer_flags.h"

DEFINE_bool(stdin, false, "read the text from standard input instead of -p");
DEFINE_bool(bos, true, "prepend BOS when the model asks for it (--no-bos: never)");
DEFINE_bool(parse_special, true, "turn special-token text such as <|eot_id|> into its token");
DEFINE_bool(json_lines, false, "read one JSON string per stdin line, print one array per line");
DEFINE_string(pre_tokenizer, "",
              "pre-tokenizer: llama3 | default (llama.cpp's fallback, as bitnet.cpp) | "
              "empty = from the file");

namespace bitjit::cli {
namespace {

std::string IdsJson(const std::vector<int32_t>& ids) {
  return nlohmann::json(ids).dump();
}

int RunTokenize(const Args& args) {
  if (!args.positional.empty()) Fail("unexpected argument '", args.positional[0], "'");
  if (FLAGS_m.empty()) Fail("-m MODEL is required");
  const bool from_stdin = FLAGS_stdin || FLAGS_json_lines;
  if (from_stdin && !FLAGS_p.empty()) Fail("give the text with -p or on stdin, not both");
  // -p "" is a valid (empty) text; no -p and no --stdin is a mistake.
  if (!from_stdin && gflags::GetCommandLineFlagInfoOrDie("p").is_default) {
    Fail("give the text with -p TEXT or --stdin");
  }
  const PreTokenizerKind kind = ParsePreTokenizerKind(FLAGS_pre_tokenizer);
  const auto file = gguf::GgufFile::Open(FLAGS_m);
  const auto tokenizer = Tokenizer::FromGguf(*file, kind);

  if (FLAGS_json_lines) {
    std::string line;
    for (size_t n = 1; std::getline(std::cin, line); ++n) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) Fail("stdin line ", n, " is empty (expected a JSON string)");
      nlohmann::json text;
      try {
        text = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        Fail("stdin line ", n, " is not JSON: ", e.what());
      }
      if (!text.is_string()) Fail("stdin line ", n, " is not a JSON string");
      const auto ids =
          tokenizer->Encode(text.get_ref<const std::string&>(), FLAGS_bos, FLAGS_parse_special);
      std::printf("%s\n", IdsJson(ids).c_str());
    }
    return 0;
  }
  std::string text = FLAGS_p;
  if (FLAGS_stdin) text.assign(std::istreambuf_iterator<char>(std::cin), {});
  std::printf("%s\n", IdsJson(tokenizer->Encode(text, FLAGS_bos, FLAGS_parse_special)).c_str());
  return 0;
}

}  // namespace

BITJIT_COMMAND(tokenize, "tokenize", "print the token ids of a text as a JSON array",
               "-m MODEL [-p TEXT | --stdin] [--no-bos] [--no-parse-special] [--json-lines] "
               "[--pre-tokenizer llama3|default]",
               {"m", "p", "stdin", "bos", "parse_special", "json_lines", "pre_tokenizer"},
               RunTokenize);

}  // namespace bitjit::cli
