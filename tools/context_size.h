// The checks on a context size a command is asked for (-c, bench's -p / -n), made before any KV
// cache is allocated:
//   - beyond the model's trained context (config().n_ctx_train) it is refused unless
//     --allow-long-context: positions past training give text of no use, and a typo like
//     -c 4194304 would otherwise reserve gigabytes without a word;
//   - the KV cache of every slot (serve --parallel) must fit in this machine's physical memory;
//     the error names the bytes.
#pragma once

#include <gflags/gflags.h>

#include <cstdint>
#include <string>

#include "runtime/model.h"

DECLARE_bool(allow_long_context);

namespace bitjit::cli {

// Refuses `n_ctx` tokens in each of `n_slots` KV cache slots (see above). `what` names where the
// size came from in the error ("-c 100000"). Throws bitjit::Error.
void CheckContextSize(const Model& model, int64_t n_ctx, int n_slots, const std::string& what);

// -c, or the model's default context when -c is not given, checked for `n_slots` slots.
int64_t ContextFromFlags(const Model& model, int n_slots = 1);

}  // namespace bitjit::cli
