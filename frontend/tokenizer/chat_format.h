// The chat format of bitnet-b1.58-2B-4T (spec/TOKENIZER.md, "Chat template"). Its GGUF stores a
// Jinja template in tokenizer.chat_template, but bitnet.cpp never renders it: it recognises the
// marker "BITNET" in it and applies a built-in format instead, which is what this reproduces.
//
// RenderBitnetChat produces, for each message in order:
//   system:     "System: " + content                      (no separator after it)
//   user:       "User: " + content + "<|eot_id|>Assistant: "
//   assistant:  content                                   (an earlier reply, replayed as text)
// e.g. {system "Be brief.", user "Hi", assistant "Hello!", user "2+2?"} renders as
//   "System: Be brief.User: Hi<|eot_id|>Assistant: Hello!User: 2+2?<|eot_id|>Assistant: "
// The text has no BOS: encode it with add_bos = true (the model's <|begin_of_text|>) and
// parse_special = true so that "<|eot_id|>" becomes token 128009, as bitnet.cpp does. The model
// then writes its reply and ends it with <|eot_id|> (or <|end_of_text|>).
//
// RenderBitnetUserTurn(content) is the text one more user turn adds after a reply:
//   "User: " + content + "<|eot_id|>Assistant: "
// so RenderBitnetChat(history + {user, c}) == RenderBitnetChat(history) + RenderBitnetUserTurn(c)
// for any history. To continue a conversation held in the KV cache, append the tokens of
// RenderBitnetUserTurn (encoded without BOS) after the reply's tokens. bitnet.cpp's llama-cli
// also keeps the end-of-turn token it sampled in the context before the next turn; the
// re-rendered text does not contain it (replies are replayed as plain text), so a cache that
// holds it is one token longer than the re-rendered prompt.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bitjit {

class Tokenizer;

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

// True when a tokenizer.chat_template makes bitnet.cpp use this format (it contains "BITNET").
bool IsBitnetChatTemplate(std::string_view chat_template);

// The prompt text of a conversation (see above). Throws bitjit::Error for another role.
std::string RenderBitnetChat(std::span<const ChatMessage> messages);
// The text of one more user turn (see above).
std::string RenderBitnetUserTurn(std::string_view content);

// Token ids of the same texts. With `parse_special_in_content` true this is exactly
// Encode(text, add_bos, /*parse_special=*/true) (bitnet.cpp's behaviour: a user who types
// "<|eot_id|>" ends the turn). With false, only the format's own <|eot_id|> markers become
// special tokens and message contents are tokenized as plain text (for untrusted input); the
// ids are the same whenever the contents contain no special-token text.
std::vector<int32_t> EncodeBitnetChat(const Tokenizer& tokenizer,
                                      std::span<const ChatMessage> messages, bool add_bos,
                                      bool parse_special_in_content);
std::vector<int32_t> EncodeBitnetUserTurn(const Tokenizer& tokenizer, std::string_view content,
                                          bool parse_special_in_content);

}  // namespace bitjit
