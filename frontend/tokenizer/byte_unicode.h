// GPT-2's bytes_to_unicode table, both ways. Byte-level BPE vocabularies ("gpt2" in GGUF) store
// every token as text in which each byte of the real UTF-8 bytes is replaced by one printable
// code point, so that a vocabulary never contains spaces, control characters or partial UTF-8:
// bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for themselves, and the remaining 68 bytes
// map to U+0100, U+0101, ... in increasing byte order (so ' ' is U+0120 'Ġ', '\n' is 'Ċ').
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bitjit::tokenizer {

// The UTF-8 encoding (2 bytes at most) of the code point that stands for byte `b`.
std::string_view ByteToUnicode(uint8_t b);

// The byte that code point `cp` stands for, or -1 when `cp` stands for no byte.
int UnicodeToByte(char32_t cp);

// Appends the byte-level form of `raw` (each byte replaced by its code point) to `out`.
void AppendByteEncoded(std::string_view raw, std::string* out);

// Appends the raw bytes that the byte-level text `text` stands for. Returns false when `text`
// has a character that stands for no byte (e.g. a special token such as "<|eot_id|>" is fine,
// but "€" is not): such characters, and invalid UTF-8, are appended unchanged.
bool AppendByteDecoded(std::string_view text, std::string* out);

}  // namespace bitjit::tokenizer
