#include "frontend/tokenizer/byte_unicode.h"

#include <array>

#include "frontend/tokenizer/utf8_chars.h"

namespace bitjit::tokenizer {
namespace {

struct Tables {
  std::array<char32_t, 256> byte_to_cp;
  std::array<char, 256 * 2> utf8;  // 1 or 2 bytes per entry
  std::array<uint8_t, 256> utf8_len;
  std::array<int16_t, 0x144> cp_to_byte;  // every mapped code point is below U+0144
};

bool StandsForItself(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

Tables Build() {
  Tables t{};
  t.cp_to_byte.fill(-1);
  char32_t next = 0x100;
  for (int b = 0; b < 256; ++b) {
    const char32_t cp = StandsForItself(b) ? static_cast<char32_t>(b) : next++;
    t.byte_to_cp[b] = cp;
    t.cp_to_byte[cp] = static_cast<int16_t>(b);
    if (cp < 0x80) {
      t.utf8[2 * b] = static_cast<char>(cp);
      t.utf8_len[b] = 1;
    } else {
      t.utf8[2 * b] = static_cast<char>(0xc0 | (cp >> 6));
      t.utf8[2 * b + 1] = static_cast<char>(0x80 | (cp & 0x3f));
      t.utf8_len[b] = 2;
    }
  }
  return t;
}

const Tables& GetTables() {
  static const Tables tables = Build();
  return tables;
}

}  // namespace

std::string_view ByteToUnicode(uint8_t b) {
  const Tables& t = GetTables();
  return {&t.utf8[2 * b], t.utf8_len[b]};
}

int UnicodeToByte(char32_t cp) {
  const Tables& t = GetTables();
  return cp < t.cp_to_byte.size() ? t.cp_to_byte[cp] : -1;
}

void AppendByteEncoded(std::string_view raw, std::string* out) {
  const Tables& t = GetTables();
  for (char c : raw) {
    const uint8_t b = static_cast<uint8_t>(c);
    out->append(&t.utf8[2 * b], t.utf8_len[b]);
  }
}

bool AppendByteDecoded(std::string_view text, std::string* out) {
  bool all_mapped = true;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    const int32_t cp = DecodeUtf8(text, &pos);
    const int b = cp < 0 ? -1 : UnicodeToByte(static_cast<char32_t>(cp));
    if (b >= 0) {
      out->push_back(static_cast<char>(b));
    } else {
      out->append(text.substr(start, pos - start));
      all_mapped = false;
    }
  }
  return all_mapped;
}

}  // namespace bitjit::tokenizer
