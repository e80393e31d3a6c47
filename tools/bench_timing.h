// The two timed loops of a throughput benchmark, shared by `bitjit bench` and llama-bench.
#pragma once

#include <cstdint>
#include <span>

#include "runtime/model.h"

namespace bitjit::cli {

// Seconds to evaluate `tokens` as a prompt after what the session holds, `n_batch` tokens per
// evaluation (0 = all at once; llama-bench's -b 1 is one token at a time).
double TimePrompt(Session& session, std::span<const int32_t> tokens, int n_batch);

// Seconds for one decode step per token of `tokens`, after what the session holds.
double TimeGeneration(Session& session, std::span<const int32_t> tokens);

}  // namespace bitjit::cli
