// Element types of IR values.
#pragma once

#include <cstdint>
#include <string_view>

namespace bitjit::ir {

enum class DType : uint8_t {
  kF32,
  kF16,
  kQ8_0,  // blocks of 32 int8 with one f16 scale (lm_head table of some models)
  kQ6_K,  // ggml's 210-byte blocks of 256 six-bit values (a --quant-embd token_embd)
  kI2S,   // bitnet.cpp's packed ternary weights with one f32 scale per tensor
  kI8,
  kI32,
};

std::string_view DTypeName(DType t);

}  // namespace bitjit::ir
