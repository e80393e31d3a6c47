// A compiled PCRE2 pattern for the pre-tokenizers: UTF-8 with Unicode properties (UCP), JIT
// compiled where the platform supports it, and tolerant of invalid UTF-8 in the subject
// (PCRE2_MATCH_INVALID_UTF: malformed bytes simply match nothing, so they end up in unmatched
// spans instead of failing the whole match). Compiled once, shared read-only by all threads.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bitjit::tokenizer {

class Pcre2Regex {
 public:
  // Throws bitjit::Error if the pattern does not compile.
  explicit Pcre2Regex(const std::string& pattern);
  ~Pcre2Regex();
  Pcre2Regex(const Pcre2Regex&) = delete;
  Pcre2Regex& operator=(const Pcre2Regex&) = delete;

  // Per-thread scratch for matching (PCRE2 match data); one per Split call.
  class Scratch {
   public:
    Scratch();
    ~Scratch();
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;

   private:
    friend class Pcre2Regex;
    void* match_data_;
  };

  // Searches `subject` (the whole subject: lookarounds see nothing outside it) from byte
  // offset `start`. On a match sets [*begin, *end) and returns true.
  bool Find(std::string_view subject, size_t start, Scratch& scratch, size_t* begin,
            size_t* end) const;

  bool jit() const { return jit_; }

 private:
  void* code_ = nullptr;
  bool jit_ = false;
  std::string pattern_;
};

}  // namespace bitjit::tokenizer
