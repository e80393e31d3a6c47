// Base class of every JIT kernel: an Xbyak code buffer with a name, W^X memory protection,
// and the two debugging hooks every kernel gets for free:
//   BITJIT_JIT_DUMP=DIR   writes each finished kernel's bytes to DIR/NAME.bin; disassemble with
//                         objdump -D -b binary -mi386:x86-64 DIR/NAME.bin
//   /tmp/perf-PID.map     every kernel is listed (start, size, name) so `perf report` names
//                         samples in JIT code; BITJIT_JIT_PERF_MAP=0 turns this off.
#pragma once

#include <xbyak/xbyak.h>

#include <cstddef>
#include <string>

namespace bitjit::codegen {

class JitGenerator : public Xbyak::CodeGenerator {
 public:
  // `name` identifies the kernel in dumps and profiles: keep it unique per code variant
  // (XNNPACK style, e.g. "TernaryGemv_32r_avx512vnni_K2560"). The buffer is not executable
  // until Create() has run.
  explicit JitGenerator(std::string name, size_t max_code_size = 256 * 1024);
  ~JitGenerator() override = default;
  JitGenerator(const JitGenerator&) = delete;
  JitGenerator& operator=(const JitGenerator&) = delete;

  // Emits the code (generate()), then makes it read+exec and registers it. Call once.
  void Create();

  const std::string& name() const { return name_; }
  size_t code_size() const { return getSize(); }
  bool created() const { return created_; }

  // The entry point, valid after Create().
  template <typename Fn>
  Fn entry() const {
    return reinterpret_cast<Fn>(const_cast<uint8_t*>(getCode()));
  }

 protected:
  // Subclasses emit the whole function, including Preamble()/Postamble().
  virtual void generate() = 0;

  // System V: saves the callee-saved GPRs (rbx, rbp, r12-r15) so kernels may use all GPRs.
  // There are no callee-saved vector registers on Linux x86-64.
  void Preamble();
  // Restores what Preamble saved, clears the upper vector state (vzeroupper, avoiding the
  // AVX-SSE transition penalty in the caller) and returns.
  void Postamble();
  // Sums the 8 floats of `acc` pairwise (halves, then quarters, then neighbours) into its lowest
  // lane; `scratch` is clobbered. The fixed order is part of the lm_head kernels' documented
  // float order.
  void HorizontalSumPs(const Xbyak::Ymm& acc, const Xbyak::Ymm& scratch);
  // prefetcht0 of every 64-byte line of [base + offset, base + offset + bytes): a kernel's
  // software prefetch of the block `offset` bytes ahead of the one it reads.
  void PrefetchLines(const Xbyak::Reg64& base, int offset, int bytes);
  // Throws bitjit::Error unless `bytes` is a prefetch distance the kernels take: whole cache
  // lines, from 0 (none) to 1 MiB. `kernel` names the kernel in the message.
  static void CheckPrefetchDistance(const std::string& kernel, int bytes);

 private:
  std::string name_;
  bool created_ = false;
};

}  // namespace bitjit::codegen
