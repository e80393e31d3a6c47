// The loop the quantized lm_head GEMV kernels (q8_0_gemv_kernel.h, q6k_gemv_kernel.h) share:
// one float per table row for rows [row_begin, row_end), each row's lanes summed in the
// documented pairwise order (JitGenerator::HorizontalSumPs). A kernel emits
//
//   EmitRowsBegin(...);  L(l_row);  <zero acc, dot one row into it>  EmitRowEnd(..., l_row);
//
// Registers the skeleton owns: r8 the current table row, r9 its output, rcx rows left (rax is
// scratch until the row loop starts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "codegen/jit/jit_generator.h"

namespace bitjit::codegen {

class RowDotKernel : public JitGenerator {
 protected:
  using JitGenerator::JitGenerator;

  // Where the kernel's argument struct (pointed to by rdi) keeps the row range's fields.
  struct RowArgs {
    size_t table, out, row_begin, row_end;  // offsetof(...) of each
  };
  // r8 = table + row_begin * row_bytes, r9 = out + row_begin, rcx = row_end - row_begin.
  void EmitRowsBegin(const RowArgs& args, int64_t row_bytes);
  // Stores the horizontal sum of `acc` (scratch clobbered) to r9, advances to the next row and
  // loops back to `l_row` while rows are left.
  void EmitRowEnd(const Xbyak::Ymm& acc, const Xbyak::Ymm& scratch, int64_t row_bytes,
                  const Xbyak::Label& l_row);
};

}  // namespace bitjit::codegen
