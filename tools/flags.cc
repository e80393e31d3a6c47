#include "tools/flags.h"

DEFINE_string(m, "", "model file (GGUF)");
DEFINE_string(p, "", "prompt text");
DEFINE_string(f, "", "read the prompt from this file");
DEFINE_string(o, "", "output file");
DEFINE_int32(n, 64, "number of tokens to generate");
DEFINE_int32(t, 0, "threads (0 = physical cores)");
DEFINE_int32(c, 0, "context size in tokens (0 = the model's, capped by memory)");
DEFINE_bool(json, false, "print one JSON object instead of text");
DEFINE_string(
    isa, "",
    "cap the instruction set: ref|avx2|avx512|avx512vnni|avxvnni|avx512amx (bench: a list)");
DEFINE_uint64(seed, 0xB17B17, "random seed");
DEFINE_bool(quiet, false, "no progress bars");
DEFINE_string(numerics, "bitnet",
              "bitnet: reproduce bitnet.cpp's roundings (F16 KV cache, F16 q, ...); f32: plain "
              "float32 for comparison");
DEFINE_string(plan, "", "run a plan made by `bitjit compile` (no passes, no repacking)");
DEFINE_bool(mmap, false,
            "run a plan (and the plan cache's entries) on the mapped weights in place: the "
            "fastest start, but decoding is slower where 4 KiB pages miss the TLB (~15% in a VM); "
            "--mmap=false copies them into huge-page memory; by default they run in place where "
            "the kernel maps them in 2 MiB pages, else are copied");
