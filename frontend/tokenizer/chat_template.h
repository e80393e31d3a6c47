// The chat formats of the models bitnet.cpp runs, rendered as llama.cpp's built-in templates
// render them (llama.cpp never runs a GGUF's Jinja text: it recognises a template by markers in
// it and applies its own code):
//   bitnet   bitnet-b1.58-2B-4T (chat_format.h has its details and quirks)
//   llama3   Llama3-8B-1.58: "<|start_header_id|>ROLE<|end_header_id|>\n\n" CONTENT "<|eot_id|>"
//            per message, then "<|start_header_id|>assistant<|end_header_id|>\n\n"
//   falcon3  Falcon3-*-1.58bit, Falcon-E: "<|ROLE|>\n" CONTENT "\n" per message, then
//            "<|assistant|>\n"
//   chatml   "<|im_start|>ROLE\n" CONTENT "<|im_end|>\n" per message, then
//            "<|im_start|>assistant\n"
// A conversation starts with BOS (encode with add_bos). Markers such as <|eot_id|> become
// special tokens; message contents are plain text unless parse_special_in_content is set.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/tokenizer/chat_format.h"

namespace bitjit {

class Tokenizer;

enum class ChatTemplate { kBitnet, kLlama3, kFalcon3, kChatml };

std::string_view ChatTemplateName(ChatTemplate t);
// "bitnet", "llama3", "falcon3" or "chatml"; throws bitjit::Error naming them otherwise.
ChatTemplate ParseChatTemplate(std::string_view name);
// The format a GGUF's tokenizer.chat_template selects, by llama.cpp's markers; bitnet when the
// file has none (every BitNet file bitnet.cpp makes) or the text matches no known format.
ChatTemplate DetectChatTemplate(std::string_view jinja);

// The prompt text of a conversation, ending where the assistant's reply begins.
std::string RenderChat(ChatTemplate t, std::span<const ChatMessage> messages);
// The text that follows a reply once its end token (<|eot_id|>, <|im_end|>, EOS), as sampled,
// is in the context: one more user turn and the start of the next reply.
std::string RenderUserTurn(ChatTemplate t, std::string_view content);

std::vector<int32_t> EncodeChat(const Tokenizer& tokenizer, ChatTemplate t,
                                std::span<const ChatMessage> messages, bool add_bos,
                                bool parse_special_in_content);
std::vector<int32_t> EncodeUserTurn(const Tokenizer& tokenizer, ChatTemplate t,
                                    std::string_view content, bool parse_special_in_content);

}  // namespace bitjit
