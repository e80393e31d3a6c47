// llama.cpp's flags that bitjit's own commands do not have, shared by the llama-* personalities
// (tools/cmd_llama_*.cc), and what each personality does with them: applied, noted as changing
// nothing here (under -v), or refused.
#pragma once

#include <gflags/gflags.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

DECLARE_int32(n_gpu_layers);  // -ngl: bitjit runs on the CPU
DECLARE_bool(flash_attn);     // -fa: inert, bitjit has one attention kernel
DECLARE_bool(mlock);          // inert
DECLARE_int32(batch_size);    // -b: prompt tokens per evaluation (with -ub)
DECLARE_int32(ubatch_size);   // -ub
DECLARE_bool(log_disable);    // --log-disable: no timings or notes on stderr
DECLARE_int64(llama_seed);    // -s/--seed: -1 = a random seed

namespace bitjit::cli {

// Notes on stderr for flags this personality accepts and that change nothing in bitjit: -ngl
// above 0 always (a user expecting a GPU should know), the others under -v. --log-disable
// turns on --quiet.
void NoteLlamaFlags(const std::string& program);

// The prompt batch of -b and -ub: the smaller of the two (llama.cpp splits a -b batch into -ub
// pieces). Refuses values below 1.
int PromptBatch();

// -s/--seed: -1 (llama.cpp's default) draws one.
uint64_t SeedFromLlamaFlag();

// llama.cpp flags that would change results and that bitjit does not implement: every
// personality refuses them with this reason rather than reading them as unknown.
std::vector<std::pair<std::string, std::string>> RefusedLlamaFlags();

}  // namespace bitjit::cli
