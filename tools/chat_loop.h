// Interactive chat for `bitjit run --chat`: reads user lines from stdin, streams replies, keeps
// the KV cache across turns. "/reset" starts over; EOF (Ctrl-D) ends the session.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/generate.h"

namespace bitjit::cli {

// `reverse_prompts` (llama-cli's -r): a reply also ends when one of them appears in its text.
// `chat_template`: a name for --chat-template, or empty for the model's own (Tokenizer).
int RunChat(const Model& model, const GenerateParams& params, const std::string& system,
            int64_t n_ctx, const std::vector<std::string>& reverse_prompts = {},
            const std::string& chat_template = "");

// True when one of `stops` occurs in `text` and ends in its last `new_bytes` bytes (a token's
// piece may hold a stop string in its middle, so "ends with" would miss it).
bool StopArrived(std::string_view text, size_t new_bytes, const std::vector<std::string>& stops);

}  // namespace bitjit::cli
