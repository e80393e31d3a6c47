#include "frontend/tokenizer/chat_format.h"

#include "frontend/tokenizer/tokenizer.h"
#include "ir/base/error.h"

namespace bitjit {
namespace {

constexpr std::string_view kEot = "<|eot_id|>";

// A rendered conversation as the texts between the format's own <|eot_id|> markers
// (texts.size() == number of markers + 1), so it can be joined into the prompt text or
// encoded with the markers as tokens and the rest as plain text.
struct Rendered {
  std::vector<std::string> texts{std::string()};

  void AddUserTurn(std::string_view content) {
    texts.back().append("User: ").append(content);
    texts.emplace_back("Assistant: ");
  }
  std::string Join() const {
    std::string out = texts[0];
    for (size_t i = 1; i < texts.size(); ++i) out.append(kEot).append(texts[i]);
    return out;
  }
  std::vector<int32_t> Encode(const Tokenizer& tokenizer, bool add_bos) const {
    std::vector<int32_t> ids = tokenizer.Encode("", add_bos, false);
    for (size_t i = 0; i < texts.size(); ++i) {
      if (i > 0) {  // the marker as bitnet.cpp gets it: by parsing its text
        const std::vector<int32_t> eot = tokenizer.Encode(kEot, false, true);
        ids.insert(ids.end(), eot.begin(), eot.end());
      }
      const std::vector<int32_t> part = tokenizer.Encode(texts[i], false, false);
      ids.insert(ids.end(), part.begin(), part.end());
    }
    return ids;
  }
};

Rendered Render(std::span<const ChatMessage> messages) {
  Rendered r;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      r.texts.back().append("System: ").append(m.content);
    } else if (m.role == "user") {
      r.AddUserTurn(m.content);
    } else if (m.role == "assistant") {
      r.texts.back().append(m.content);
    } else {
      Fail("unknown chat role '", m.role, "' (expected system, user or assistant)");
    }
  }
  return r;
}

}  // namespace

bool IsBitnetChatTemplate(std::string_view chat_template) {
  return chat_template.find("BITNET") != std::string_view::npos;
}

std::string RenderBitnetChat(std::span<const ChatMessage> messages) {
  return Render(messages).Join();
}

std::string RenderBitnetUserTurn(std::string_view content) {
  Rendered r;
  r.AddUserTurn(content);
  return r.Join();
}

std::vector<int32_t> EncodeBitnetChat(const Tokenizer& tokenizer,
                                      std::span<const ChatMessage> messages, bool add_bos,
                                      bool parse_special_in_content) {
  const Rendered r = Render(messages);
  if (parse_special_in_content) return tokenizer.Encode(r.Join(), add_bos, true);
  return r.Encode(tokenizer, add_bos);
}

std::vector<int32_t> EncodeBitnetUserTurn(const Tokenizer& tokenizer, std::string_view content,
                                          bool parse_special_in_content) {
  Rendered r;
  r.AddUserTurn(content);
  if (parse_special_in_content) return tokenizer.Encode(r.Join(), false, true);
  return r.Encode(tokenizer, false);
}

}  // namespace bitjit
