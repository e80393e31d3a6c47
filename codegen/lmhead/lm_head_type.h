// `--lm-head f16|q8_0|q6_k`: in which form the tied lm_head (token_embd) is multiplied. f16, the
// default, multiplies the model file's own table (F16, or Q8_0 when the file has it) with
// bitnet.cpp's numerics. q8_0 and q6_k quantize the table at compile time (ggml's formats) and
// quantize each input row to Q8_0 / Q8_K, trading a small logit deviation for a table of 53% /
// 41% of the F16 bytes, more than half of what a decode step reads on the 2B model.
#pragma once

#include <cstdint>
#include <string_view>

namespace bitjit::lm_head {

enum class LmHeadType { kF16, kQ8_0, kQ6_K };

// "f16" (and "", the default) | "q8_0" | "q6_k"; throws bitjit::Error naming the choices.
LmHeadType ParseLmHeadType(std::string_view name);
std::string_view LmHeadTypeName(LmHeadType type);

// Throws bitjit::Error when a table of rows of n_embd values cannot be stored as `type`
// (q8_0: n_embd % 32 == 0, q6_k: n_embd % 256 == 0).
void CheckRowLength(LmHeadType type, int64_t n_embd);

}  // namespace bitjit::lm_head
