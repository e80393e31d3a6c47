#include "codegen/lmhead/row_dot_kernel.h"

namespace bitjit::codegen {

void RowDotKernel::EmitRowsBegin(const RowArgs& args, int64_t row_bytes) {
  using namespace Xbyak::util;  // NOLINT: register names read like assembly
  mov(rax, qword[rdi + args.row_begin]);
  mov(rcx, qword[rdi + args.row_end]);
  sub(rcx, rax);
  mov(r9, qword[rdi + args.out]);
  lea(r9, ptr[r9 + rax * 4]);
  imul(rax, rax, static_cast<int>(row_bytes));
  add(rax, qword[rdi + args.table]);
  mov(r8, rax);
}

void RowDotKernel::EmitRowEnd(const Xbyak::Ymm& acc, const Xbyak::Ymm& scratch, int64_t row_bytes,
                              const Xbyak::Label& l_row) {
  using namespace Xbyak::util;  // NOLINT
  // Pairwise lane reduction, one float store.
  HorizontalSumPs(acc, scratch);
  vmovss(dword[r9], Xbyak::Xmm(acc.getIdx()));
  add(r8, static_cast<int>(row_bytes));
  add(r9, 4);
  dec(rcx);
  jnz(l_row);
}

}  // namespace bitjit::codegen
