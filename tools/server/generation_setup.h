// From a parsed request to what the scheduler runs: the prompt's tokens (chat messages in the
// BitNet chat format, with special-token text in message contents kept as plain text), the
// sampler settings, and max_tokens checked against the context of a slot. A prompt or a
// max_tokens that cannot fit is an ApiError (400, code context_length_exceeded).
#pragma once

#include <cstdint>

#include "tools/server/completion_request.h"
#include "tools/server/scheduler.h"

namespace bitjit {
class Tokenizer;
}

namespace bitjit::server {

// `random_seed` seeds the sampler of a request that gives no seed.
GenerationSpec SetUpGeneration(const Tokenizer& tokenizer, int64_t n_ctx,
                               const CompletionRequest& request, uint64_t random_seed);

}  // namespace bitjit::server
