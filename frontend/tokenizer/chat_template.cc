#include "frontend/tokenizer/chat_template.h"

#include <utility>

#include "frontend/tokenizer/tokenizer.h"
#include "ir/base/error.h"

namespace bitjit {
namespace {

// A rendered conversation as pieces: the format's own markers (special tokens) and the plain
// text between them. Adjacent texts are one piece, tokenized as a whole, as llama.cpp tokenizes
// the rendered prompt (split only at special tokens): "\n\n" + "\nHi" is not "\n\n" + "\n" + ...
class Pieces {
 public:
  void Marker(std::string_view m) { pieces_.emplace_back(std::string(m), true); }
  void Text(std::string_view t) {
    if (pieces_.empty() || pieces_.back().second) {
      pieces_.emplace_back(std::string(t), false);
    } else {
      pieces_.back().first.append(t);
    }
  }

  std::string Join() const {
    std::string out;
    for (const auto& [text, marker] : pieces_) out += text;
    return out;
  }
  std::vector<int32_t> Encode(const Tokenizer& tokenizer, bool add_bos,
                              bool parse_special_in_content) const {
    if (parse_special_in_content) return tokenizer.Encode(Join(), add_bos, true);
    // A marker this vocabulary has no special token for (a template forced onto another
    // model's file) is plain text, and runs together with the text around it.
    std::vector<std::pair<std::string, bool>> runs;
    for (const auto& [text, marker] : pieces_) {
      const bool special = marker && tokenizer.Encode(text, false, true).size() == 1;
      if (!special && !runs.empty() && !runs.back().second) {
        runs.back().first += text;
      } else {
        runs.emplace_back(text, special);
      }
    }
    std::vector<int32_t> ids = tokenizer.Encode("", add_bos, false);
    for (const auto& [text, special] : runs) {
      const std::vector<int32_t> part = tokenizer.Encode(text, false, /*parse_special=*/special);
      ids.insert(ids.end(), part.begin(), part.end());
    }
    return ids;
  }

 private:
  std::vector<std::pair<std::string, bool>> pieces_;
};

void CheckRole(std::string_view role) {
  if (role != "system" && role != "user" && role != "assistant")
    Fail("unknown chat role '", role, "' (expected system, user or assistant)");
}

void AddMessage(ChatTemplate t, std::string_view role, std::string_view content, Pieces* p) {
  switch (t) {
    case ChatTemplate::kLlama3:
      p->Marker("<|start_header_id|>");
      p->Text(role);
      p->Marker("<|end_header_id|>");
      p->Text("\n\n");
      p->Text(content);
      p->Marker("<|eot_id|>");
      return;
    case ChatTemplate::kFalcon3:
      p->Marker("<|" + std::string(role) + "|>");
      p->Text("\n");
      p->Text(content);
      p->Text("\n");
      return;
    case ChatTemplate::kChatml:
      p->Marker("<|im_start|>");
      p->Text(role);
      p->Text("\n");
      p->Text(content);
      p->Marker("<|im_end|>");
      p->Text("\n");
      return;
    case ChatTemplate::kBitnet:  // chat_format.h: no separator after a system or assistant text
      if (role == "system") {
        p->Text("System: ");
        p->Text(content);
      } else if (role == "user") {
        p->Text("User: ");
        p->Text(content);
        p->Marker("<|eot_id|>");
        p->Text("Assistant: ");
      } else {
        p->Text(content);  // an earlier reply, replayed as text
      }
      return;
  }
}

void AddAssistantStart(ChatTemplate t, Pieces* p) {
  switch (t) {
    case ChatTemplate::kLlama3:
      p->Marker("<|start_header_id|>");
      p->Text("assistant");
      p->Marker("<|end_header_id|>");
      p->Text("\n\n");
      return;
    case ChatTemplate::kFalcon3:
      p->Marker("<|assistant|>");
      p->Text("\n");
      return;
    case ChatTemplate::kChatml:
      p->Marker("<|im_start|>");
      p->Text("assistant\n");
      return;
    case ChatTemplate::kBitnet:  // a user turn ends with "Assistant: " already
      return;
  }
}

Pieces RenderPieces(ChatTemplate t, std::span<const ChatMessage> messages) {
  Pieces p;
  for (const ChatMessage& m : messages) {
    CheckRole(m.role);
    AddMessage(t, m.role, m.content, &p);
  }
  AddAssistantStart(t, &p);
  return p;
}

Pieces UserTurnPieces(ChatTemplate t, std::string_view content) {
  Pieces p;
  // What the template writes between the reply's end token and the next message.
  if (t == ChatTemplate::kChatml || t == ChatTemplate::kFalcon3) p.Text("\n");
  AddMessage(t, "user", content, &p);
  AddAssistantStart(t, &p);
  return p;
}

}  // namespace

std::string_view ChatTemplateName(ChatTemplate t) {
  switch (t) {
    case ChatTemplate::kBitnet:
      return "bitnet";
    case ChatTemplate::kLlama3:
      return "llama3";
    case ChatTemplate::kFalcon3:
      return "falcon3";
    case ChatTemplate::kChatml:
      return "chatml";
  }
  return "?";
}

ChatTemplate ParseChatTemplate(std::string_view name) {
  for (ChatTemplate t : {ChatTemplate::kBitnet, ChatTemplate::kLlama3, ChatTemplate::kFalcon3,
                         ChatTemplate::kChatml}) {
    if (name == ChatTemplateName(t)) return t;
  }
  Fail("unknown chat template '", name, "' (bitjit has bitnet, llama3, falcon3 and chatml)");
}

ChatTemplate DetectChatTemplate(std::string_view jinja) {
  auto has = [&](std::string_view s) { return jinja.find(s) != std::string_view::npos; };
  if (IsBitnetChatTemplate(jinja)) return ChatTemplate::kBitnet;
  if (has("<|start_header_id|>") && has("<|end_header_id|>")) return ChatTemplate::kLlama3;
  if (has("<|im_start|>")) return ChatTemplate::kChatml;
  if (has("<|assistant|>") && has("<|user|>")) return ChatTemplate::kFalcon3;
  return ChatTemplate::kBitnet;
}

std::string RenderChat(ChatTemplate t, std::span<const ChatMessage> messages) {
  return RenderPieces(t, messages).Join();
}

std::string RenderUserTurn(ChatTemplate t, std::string_view content) {
  return UserTurnPieces(t, content).Join();
}

std::vector<int32_t> EncodeChat(const Tokenizer& tokenizer, ChatTemplate t,
                                std::span<const ChatMessage> messages, bool add_bos,
                                bool parse_special_in_content) {
  return RenderPieces(t, messages).Encode(tokenizer, add_bos, parse_special_in_content);
}

std::vector<int32_t> EncodeUserTurn(const Tokenizer& tokenizer, ChatTemplate t,
                                    std::string_view content, bool parse_special_in_content) {
  return UserTurnPieces(t, content).Encode(tokenizer, false, parse_special_in_content);
}

}  // namespace bitjit
