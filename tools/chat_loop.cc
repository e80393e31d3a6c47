#include "tools/chat_loop.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "frontend/tokenizer/chat_template.h"
#include "frontend/tokenizer/streaming_decoder.h"
#include "ir/base/error.h"

namespace bitjit::cli {

bool StopArrived(std::string_view text, size_t new_bytes, const std::vector<std::string>& stops) {
  for (const std::string& s : stops) {
    if (s.empty() || s.size() > text.size()) continue;
    // Where an occurrence ending in the new bytes can start.
    const size_t old_end = text.size() - std::min(new_bytes, text.size());
    const size_t from = old_end >= s.size() - 1 ? old_end - (s.size() - 1) : 0;
    if (text.find(s, from) != std::string_view::npos) return true;
  }
  return false;
}

int RunChat(const Model& model, const GenerateParams& params, const std::string& system,
            int64_t n_ctx, const std::vector<std::string>& reverse_prompts,
            const std::string& chat_template) {
  const Tokenizer& tok = model.tokenizer();
  const ChatTemplate format =
      chat_template.empty() ? tok.chat_template() : ParseChatTemplate(chat_template);
  Session session(model, n_ctx);
  const bool interactive = isatty(STDIN_FILENO);
  // The last sampled id of a reply (normally <|eot_id|>) is not yet in the cache: like
  // llama-cli, it goes in front of the next turn.
  int32_t pending = -1;
  bool first_turn = true;
  std::string line;
  while (true) {
    if (interactive) std::fprintf(stderr, "\n> ");
    if (!std::getline(std::cin, line)) break;
    if (line == "/reset") {
      session.Truncate(0);
      pending = -1;
      first_turn = true;
      std::fprintf(stderr, "(conversation reset)\n");
      continue;
    }
    if (line.empty()) continue;
    std::vector<int32_t> turn;
    if (pending >= 0) turn.push_back(pending);
    std::vector<int32_t> ids;
    if (first_turn) {
      std::vector<ChatMessage> messages;
      if (!system.empty()) messages.push_back({"system", system});
      messages.push_back({"user", line});
      // User text is untrusted: special-token text in it stays plain text.
      ids = EncodeChat(tok, format, messages, /*add_bos=*/true,
                       /*parse_special_in_content=*/false);
    } else {
      ids = EncodeUserTurn(tok, format, line, /*parse_special_in_content=*/false);
    }
    turn.insert(turn.end(), ids.begin(), ids.end());
    StreamingDecoder decoder(tok);
    GenerateParams p = params;
    const int64_t room = session.n_ctx() - session.n_past() - static_cast<int64_t>(turn.size());
    if (room <= 0) {
      std::fprintf(stderr, "error: the context is full (%lld tokens); /reset to start over\n",
                   static_cast<long long>(session.n_ctx()));
      continue;
    }
    p.n_predict = static_cast<int>(std::min<int64_t>(params.n_predict, room));
    std::string reply;
    const GenerateResult r = Generate(session, turn, p, [&](int32_t id, std::span<const float>) {
      if (tok.IsEndOfGeneration(id)) return true;
      const std::string piece = decoder.Push(id);
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      reply += piece;
      return !StopArrived(reply, piece.size(), reverse_prompts);
    });
    const std::string tail = decoder.Flush();
    std::fwrite(tail.data(), 1, tail.size(), stdout);
    std::printf("\n");
    std::fflush(stdout);
    pending = r.ids.empty() ? -1 : r.ids.back();
    first_turn = false;
  }
  return 0;
}

}  // namespace bitjit::cli
