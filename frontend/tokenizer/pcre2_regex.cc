#include "frontend/tokenizer/pcre2_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "ir/base/error.h"

namespace bitjit::tokenizer {
namespace {

std::string Pcre2Message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

Pcre2Regex::Pcre2Regex(const std::string& pattern) : pattern_(pattern) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
  if (code == nullptr) {
    Fail("pre-tokenizer regex does not compile at offset ", offset, ": ", Pcre2Message(error),
         " (pattern ", pattern, ")");
  }
  code_ = code;
  // JIT is an optimisation only: without it (unsupported CPU, or SELinux forbidding executable
  // memory) pcre2_match interprets the same pattern with the same results.
  jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
}

Pcre2Regex::~Pcre2Regex() {
  pcre2_code_free(static_cast<pcre2_code*>(code_));
}

Pcre2Regex::Scratch::Scratch() {
  // Only the whole match is read, so one ovector pair suffices for any pattern.
  match_data_ = pcre2_match_data_create(1, nullptr);
  if (match_data_ == nullptr) throw std::bad_alloc();
}

Pcre2Regex::Scratch::~Scratch() {
  pcre2_match_data_free(static_cast<pcre2_match_data*>(match_data_));
}

bool Pcre2Regex::Find(std::string_view subject, size_t start, Scratch& scratch, size_t* begin,
                      size_t* end) const {
  auto* code = static_cast<const pcre2_code*>(code_);
  auto* md = static_cast<pcre2_match_data*>(scratch.match_data_);
  const auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
  // The JIT entry point skips the option checks that pcre2_match repeats on every call.
  const int rc = jit_ ? pcre2_jit_match(code, s, subject.size(), start, 0, md, nullptr)
                      : pcre2_match(code, s, subject.size(), start, 0, md, nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  // rc == 0 means "matched, but the ovector is too small for the groups": we only need group 0.
  if (rc < 0) Fail("pre-tokenizer regex failed: ", Pcre2Message(rc), " (pattern ", pattern_, ")");
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(md);
  *begin = ovector[0];
  *end = ovector[1];
  return true;
}

}  // namespace bitjit::tokenizer
