// The bitnet format is rendered by chat_template.cc with the other formats; these are its names.
#include "frontend/tokenizer/chat_format.h"

#include "frontend/tokenizer/chat_template.h"

namespace bitjit {

bool IsBitnetChatTemplate(std::string_view chat_template) {
  return chat_template.find("BITNET") != std::string_view::npos;
}

std::string RenderBitnetChat(std::span<const ChatMessage> messages) {
  return RenderChat(ChatTemplate::kBitnet, messages);
}

std::string RenderBitnetUserTurn(std::string_view content) {
  return RenderUserTurn(ChatTemplate::kBitnet, content);
}

std::vector<int32_t> EncodeBitnetChat(const Tokenizer& tokenizer,
                                      std::span<const ChatMessage> messages, bool add_bos,
                                      bool parse_special_in_content) {
  return EncodeChat(tokenizer, ChatTemplate::kBitnet, messages, add_bos, parse_special_in_content);
}

std::vector<int32_t> EncodeBitnetUserTurn(const Tokenizer& tokenizer, std::string_view content,
                                          bool parse_special_in_content) {
  return EncodeUserTurn(tokenizer, ChatTemplate::kBitnet, content, parse_special_in_content);
}

}  // namespace bitjit
