// Tokenizer flags that more than one command reads (tokenize now, run later). Defined in
// cmd_tokenize.cc.
#pragma once

#include <gflags/gflags.h>

// "llama3", "default" or "" (auto: the file's tokenizer.ggml.pre, else Llama-3 for a Llama-3
// vocabulary, else llama.cpp's fallback). Parse with bitjit::ParsePreTokenizerKind.
DECLARE_string(pre_tokenizer);
