// Small UTF-8 helpers for the tokenizer: decoding one code point, and finding where a byte
// stream stops being a complete sequence of characters (for streaming output).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bitjit::tokenizer {

// Decodes the well-formed UTF-8 character at s[*pos] and advances *pos past it. Returns -1 (and
// advances by one byte) for a byte that does not start a well-formed character.
int32_t DecodeUtf8(std::string_view s, size_t* pos);

// The length of the longest prefix of `s` after which no character is left unfinished: `s`
// minus a trailing sequence that is a proper prefix of a well-formed character (one that more
// bytes could still complete). Invalid bytes count as finished: they can never become valid.
size_t CompleteUtf8Prefix(std::string_view s);

}  // namespace bitjit::tokenizer
