#include "tools/escape_sequences.h"

namespace bitjit::cli {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string ProcessEscapes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char next = text[i + 1];
    const char* simple = nullptr;
    switch (next) {
      case 'n':
        simple = "\n";
        break;
      case 'r':
        simple = "\r";
        break;
      case 't':
        simple = "\t";
        break;
      case '\'':
        simple = "'";
        break;
      case '"':
        simple = "\"";
        break;
      case '\\':
        simple = "\\";
        break;
      default:
        break;
    }
    if (simple != nullptr) {
      out += simple;
      ++i;
      continue;
    }
    if (next == 'x' && i + 2 < text.size() && HexValue(text[i + 2]) >= 0) {
      int value = HexValue(text[i + 2]);
      size_t used = 3;
      if (i + 3 < text.size() && HexValue(text[i + 3]) >= 0) {
        value = value * 16 + HexValue(text[i + 3]);
        used = 4;
      }
      out += static_cast<char>(value);
      i += used - 1;
      continue;
    }
    out += text[i];  // an unknown escape stays as written
  }
  return out;
}

}  // namespace bitjit::cli
