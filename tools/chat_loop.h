// Interactive chat for `bitjit run --chat`: reads user lines from stdin, streams replies, keeps
// the KV cache across turns. "/reset" starts over; EOF (Ctrl-D) ends the session.
#pragma once

#include <string>

#include "runtime/generate.h"

namespace bitjit::cli {

// Each reply is generated with `params` (its reverse_prompts: llama-cli's -r), ending when the
// context is full. `chat_template`: a name for --chat-template, or empty for the model's own
// (Tokenizer).
int RunChat(const Model& model, const GenerateParams& params, const std::string& system,
            int64_t n_ctx, const std::string& chat_template = "");

}  // namespace bitjit::cli
