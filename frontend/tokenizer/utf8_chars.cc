#include "frontend/tokenizer/utf8_chars.h"

namespace bitjit::tokenizer {
namespace {

// Length of the character that lead byte `c` starts, and the range its second byte must lie in
// (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). 0 when `c` cannot start one.
struct Lead {
  int len;
  uint8_t lo, hi;
};

Lead ClassifyLead(uint8_t c) {
  if (c < 0x80) return {1, 0, 0};
  if (c >= 0xc2 && c <= 0xdf) return {2, 0x80, 0xbf};
  if (c == 0xe0) return {3, 0xa0, 0xbf};
  if (c == 0xed) return {3, 0x80, 0x9f};
  if (c >= 0xe1 && c <= 0xef) return {3, 0x80, 0xbf};
  if (c == 0xf0) return {4, 0x90, 0xbf};
  if (c >= 0xf1 && c <= 0xf3) return {4, 0x80, 0xbf};
  if (c == 0xf4) return {4, 0x80, 0x8f};
  return {0, 0, 0};
}

bool IsContinuation(uint8_t c) {
  return (c & 0xc0) == 0x80;
}

// How many bytes of s[start..] form a valid (possibly unfinished) prefix of one character.
int ValidPrefixLength(std::string_view s, size_t start, const Lead& lead) {
  int n = 1;
  for (size_t i = start + 1; i < s.size() && n < lead.len; ++i, ++n) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (n == 1 ? (c < lead.lo || c > lead.hi) : !IsContinuation(c)) break;
  }
  return n;
}

}  // namespace

int32_t DecodeUtf8(std::string_view s, size_t* pos) {
  const size_t start = *pos;
  const uint8_t c = static_cast<uint8_t>(s[start]);
  const Lead lead = ClassifyLead(c);
  if (lead.len == 1) {
    *pos = start + 1;
    return c;
  }
  if (lead.len == 0 || ValidPrefixLength(s, start, lead) < lead.len) {
    *pos = start + 1;
    return -1;
  }
  int32_t cp = c & (0x7f >> lead.len);
  for (int i = 1; i < lead.len; ++i) cp = (cp << 6) | (static_cast<uint8_t>(s[start + i]) & 0x3f);
  *pos = start + lead.len;
  return cp;
}

size_t CompleteUtf8Prefix(std::string_view s) {
  // An unfinished character has at most 3 bytes; find the lead byte among the last ones.
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const size_t start = n - back;
    const uint8_t c = static_cast<uint8_t>(s[start]);
    if (IsContinuation(c)) continue;
    const Lead lead = ClassifyLead(c);
    // Unfinished only if it needs more bytes than it has and all it has are valid so far.
    if (lead.len > static_cast<int>(back) &&
        ValidPrefixLength(s, start, lead) == static_cast<int>(back)) {
      return start;
    }
    return n;
  }
  return n;
}

}  // namespace bitjit::tokenizer
