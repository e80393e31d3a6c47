// Turns generated token ids into printable text one token at a time. A byte-level token can
// end in the middle of a UTF-8 character (e.g. an emoji spread over byte tokens), and printing
// half a character garbles terminals, so the decoder holds back a trailing sequence that more
// bytes could still complete and releases it with the bytes that complete it.
//
// Bytes that can never become valid UTF-8 are passed through as they are (bitnet.cpp prints
// token bytes raw too); nothing is replaced or dropped, so the concatenation of all Push()
// results and the final Flush() is exactly Tokenizer::Decode of the ids.
#pragma once

#include <cstdint>
#include <string>

namespace bitjit {

class Tokenizer;

class StreamingDecoder {
 public:
  // `tokenizer` must outlive the decoder.
  explicit StreamingDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

  // The bytes of `id` (with any held bytes before them) up to the last complete character.
  // Throws bitjit::Error for an id out of range.
  std::string Push(int32_t id);
  // Whatever is still held (an unfinished character at the end of generation), then resets.
  std::string Flush();
  // Bytes held back so far.
  size_t pending() const { return pending_.size(); }

 private:
  const Tokenizer& tokenizer_;
  std::string pending_;
};

}  // namespace bitjit
