// Pre-tokenizers: split text into the pieces that BPE then merges one by one. Both are the
// regexes of spec/TOKENIZER.md run by PCRE2 (UTF + UCP, JIT), never hand-written classes.
//  - kLlama3: Meta's tiktoken pattern, one pass; every byte lands in exactly one piece.
//  - kDefault: llama.cpp's fallback for vocabularies without tokenizer.ggml.pre, a sequence of
//    regexes in which each one splits the pieces the previous one produced, keeping both the
//    matched and the unmatched spans (llama.cpp's unicode_regex_split). This is what
//    bitnet.cpp does with the official 2B-4T file.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bitjit {

enum class PreTokenizerKind { kAuto, kLlama3, kDefault };

// "llama3" / "default" / "auto" (as on the command line).
std::string_view PreTokenizerName(PreTokenizerKind kind);

namespace tokenizer {

class Pcre2Regex;

class PreTokenizer {
 public:
  // `kind` must be kLlama3 or kDefault.
  explicit PreTokenizer(PreTokenizerKind kind);
  ~PreTokenizer();

  // Appends the pieces of `text` (views into it, in order, together exactly `text`).
  void Split(std::string_view text, std::vector<std::string_view>* pieces) const;

  PreTokenizerKind kind() const { return kind_; }
  // The patterns as given to PCRE2 (after the \s rewrite), for diagnostics.
  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  PreTokenizerKind kind_;
  std::vector<std::string> patterns_;
  std::vector<std::unique_ptr<Pcre2Regex>> regexes_;
};

}  // namespace tokenizer
}  // namespace bitjit
