// Portable reference for the ternary matmul: the exact integer core of BitLinear that every
// JIT kernel is tested against.
#pragma once

#include <cstdint>

namespace bitjit::ref {

// Ternary weight (-1, 0, +1) of element `index` of an I2_S tensor's packed bytes, following the
// layout of ../shared/spec/FORMAT.md: blocks of 128 values in 32 bytes; value j of block b is in
// byte b*32 + j%32 at bit shift 6 - 2*(j/32); code c = w + 1, code 3 reads as 0.
inline int I2sWeight(const uint8_t* packed, int64_t index) {
  const int64_t block = index / 128, j = index % 128;
  const int code = (packed[block * 32 + j % 32] >> (6 - 2 * (j / 32))) & 3;
  return code == 3 ? 0 : code - 1;
}

// out[t * n_rows + r] = sum_k w[r][k] * q[t * k_dim + k], exact in int32. The weight matrix is
// an I2_S tensor with ne = [k_dim, n_rows] (row r holds elements r*k_dim .. r*k_dim+k_dim-1).
void TernaryMatmulI32(const uint8_t* i2s_packed, int64_t n_rows, int64_t k_dim, const int8_t* q,
                      int64_t n_tokens, int32_t* out);

}  // namespace bitjit::ref
