// Flags shared by several subcommands (llama-cli's names where they exist). A command lists
// the ones it reads in its Command::flags; any other flag on its command line is an error.
#pragma once

#include <gflags/gflags.h>

DECLARE_string(m);                // model GGUF
DECLARE_string(p);                // prompt text
DECLARE_string(f);                // prompt file
DECLARE_string(o);                // output path
DECLARE_int32(n);                 // tokens to generate
DECLARE_int32(t);                 // threads
DECLARE_int32(c);                 // context size
DECLARE_bool(json);               // machine-readable output
DECLARE_string(isa);              // cap the instruction set: ref|avx2|avx512|avx512vnni|avxvnni|avx512amx
DECLARE_uint64(seed);             // RNG seed
DECLARE_bool(quiet);              // no progress bars
DECLARE_string(numerics);         // bitnet (default) | f32
DECLARE_string(plan);             // a compiled plan (bitjit compile)
DECLARE_bool(mmap);               // --mmap: run a plan's weights mapped instead of copied
DECLARE_string(lm_head);          // f16 (default) | q8_0 | q6_k (tools/lm_head_flag.cc)
DECLARE_string(ternary_packing);  // auto | 2bit | 1.6bit (tools/ternary_packing_flag.cc)

namespace bitjit::cli {
// Flags every model-running command reads (to list in Command::flags).
#define BITJIT_MODEL_FLAGS                                                                 \
  "m", "plan", "numerics", "pre_tokenizer", "isa", "t", "c", "lm_head", "ternary_packing", \
      "tuning_cache", "allow_long_context", "mmap"
}  // namespace bitjit::cli
