#include "tools/chat_loop.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "frontend/tokenizer/chat_template.h"
#include "ir/base/error.h"

namespace bitjit::cli {

int RunChat(const Model& model, const GenerateParams& params, const std::string& system,
            int64_t n_ctx, const std::string& chat_template) {
  const Tokenizer& tok = model.tokenizer();
  const ChatTemplate format =
      chat_template.empty() ? tok.chat_template() : ParseChatTemplate(chat_template);
  GenerationSession session(model, n_ctx);
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
      session.Reset();
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
    const int64_t room = session.n_ctx() - session.n_past() - static_cast<int64_t>(turn.size());
    if (room <= 0) {
      std::fprintf(stderr, "error: the context is full (%lld tokens); /reset to start over\n",
                   static_cast<long long>(session.n_ctx()));
      continue;
    }
    GenerateParams p = params;
    p.stop_at_context_end = true;
    const GenerateResult r =
        session.Generate(turn, p, [&](int32_t, std::span<const float>, std::string_view piece) {
          std::fwrite(piece.data(), 1, piece.size(), stdout);
          std::fflush(stdout);
          return true;
        });
    std::printf("\n");
    std::fflush(stdout);
    pending = r.ids.empty() ? -1 : r.ids.back();
    first_turn = false;
  }
  return 0;
}

}  // namespace bitjit::cli
