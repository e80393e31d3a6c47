// Interactive chat for `bitjit run --chat`: reads user lines from stdin, streams replies, keeps
// the KV cache across turns. "/reset" starts over; EOF (Ctrl-D) ends the session.
#pragma once

#include <string>

#include "runtime/generate.h"

namespace bitjit::cli {

int RunChat(const Model& model, const GenerateParams& params, const std::string& system,
            int64_t n_ctx);

}  // namespace bitjit::cli
