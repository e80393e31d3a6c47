#include "frontend/tokenizer/pre_tokenizer.h"

#include <glog/logging.h>

#include "frontend/tokenizer/pcre2_regex.h"
#include "frontend/tokenizer/utf8_chars.h"

namespace bitjit {

std::string_view PreTokenizerName(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::kAuto:
      return "auto";
    case PreTokenizerKind::kLlama3:
      return "llama3";
    case PreTokenizerKind::kDefault:
      return "default";
  }
  return "?";
}

namespace tokenizer {
namespace {

// The patterns exactly as spec/TOKENIZER.md writes them.
const char* const kLlama3Patterns[] = {
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};
const char* const kDefaultPatterns[] = {
    R"([\p{P}\$\+<=>\^~\|]+)",
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))",
    R"(\p{N}+)",
    R"([0-9][0-9][0-9])",
};

// Both tokenizers mean Unicode White_Space by \s (tiktoken's Rust regex; llama.cpp's own
// table). PCRE2's \s with UCP is \p{Xsp}, which also matches U+180E MONGOLIAN VOWEL SEPARATOR
// (a separator before Unicode 6.3, now a format character), so spell the property out.
// Both forms work inside character classes too ([^\s...] becomes [^\p{White_Space}...]).
std::string WithUnicodeWhiteSpace(std::string_view pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 's') {
        out += R"(\p{White_Space})";
      } else if (next == 'S') {
        out += R"(\P{White_Space})";
      } else {
        out += '\\';
        out += next;
      }
      continue;
    }
    out += pattern[i];
  }
  return out;
}

// Index just past the UTF-8 character (or invalid byte) at `pos`.
size_t NextCharBoundary(std::string_view s, size_t pos) {
  DecodeUtf8(s, &pos);
  return pos;
}

}  // namespace

PreTokenizer::PreTokenizer(PreTokenizerKind kind) : kind_(kind) {
  CHECK(kind == PreTokenizerKind::kLlama3 || kind == PreTokenizerKind::kDefault)
      << "PreTokenizer needs a resolved kind";
  const auto add = [&](const auto& list) {
    for (const char* p : list) {
      patterns_.push_back(WithUnicodeWhiteSpace(p));
      regexes_.push_back(std::make_unique<Pcre2Regex>(patterns_.back()));
    }
  };
  if (kind == PreTokenizerKind::kLlama3) {
    add(kLlama3Patterns);
  } else {
    add(kDefaultPatterns);
  }
}

PreTokenizer::~PreTokenizer() = default;

void PreTokenizer::Split(std::string_view text, std::vector<std::string_view>* pieces) const {
  if (text.empty()) return;
  Pcre2Regex::Scratch scratch;
  // Pieces so far; the first regex sees the whole text as one piece.
  std::vector<std::string_view> current{text};
  std::vector<std::string_view> next;
  for (size_t r = 0; r < regexes_.size(); ++r) {
    const bool last = r + 1 == regexes_.size();
    std::vector<std::string_view>& out = last ? *pieces : next;
    if (!last) out.clear();
    for (std::string_view piece : current) {
      // Each piece is a subject of its own: a lookahead such as (?!\S) cannot see past it.
      size_t emitted = 0;  // end of the last span pushed
      size_t search = 0;   // where the next search starts
      size_t begin = 0, end = 0;
      while (search < piece.size() && regexes_[r]->Find(piece, search, scratch, &begin, &end)) {
        if (end == begin) {  // none of our patterns can match empty, but never loop on one
          search = NextCharBoundary(piece, begin);
          continue;
        }
        if (begin > emitted) out.push_back(piece.substr(emitted, begin - emitted));
        out.push_back(piece.substr(begin, end - begin));
        emitted = search = end;
      }
      if (emitted < piece.size()) out.push_back(piece.substr(emitted));
    }
    if (!last) current.swap(next);
  }
}

}  // namespace tokenizer
}  // namespace bitjit
