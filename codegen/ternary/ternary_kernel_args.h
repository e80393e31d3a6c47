// The calling convention of every ternary matmul JIT kernel: one pointer to this struct (in
// rdi), oneDNN style, so that adding a field never changes the machine-level signature.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bitjit::codegen {

struct TernaryKernelArgs {
  const uint8_t* weights;  // TernaryPackedWeights::data (tile 0), see ternary_layout.h
  const int8_t* q;         // activations, token t at q + t * K
  const int32_t* q_sum;    // per token: sum of its K activation bytes
  void* out;               // int32 or float; element (t, r) at out[t * ld_out + r]
  const float* q_scale;    // per token activation scale s_t (float output only)
  int64_t ld_out;          // elements from one token's outputs to the next
  int64_t n_tokens;        // >= 1
  int32_t row_begin;       // the kernel writes rows [row_begin, row_end) of each token, only
  int32_t row_end;         // those: other threads may be writing the neighbouring rows
  float weight_scale;      // per-tensor weight scale (float output only)
};

// What the kernel writes for each (t, r), with dot = sum_k w[r][k] * q[t][k] exact in int32:
enum class TernaryOutput {
  kI32,  // dot
  kF32,  // BitLinear's epilogue, bitnet.cpp's float order:
         //   ((float)(dot + q_sum) - (float)q_sum) / q_scale[t] * weight_scale
};

}  // namespace bitjit::codegen
