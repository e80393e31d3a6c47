#include "codegen/jit/jit_generator.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <utility>

#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

// Order matters: Postamble pops in reverse.
const Xbyak::Reg64 kCalleeSaved[] = {Xbyak::util::rbx, Xbyak::util::rbp, Xbyak::util::r12,
                                     Xbyak::util::r13, Xbyak::util::r14, Xbyak::util::r15};

void DumpCode(const std::string& dir, const std::string& name, const uint8_t* code, size_t size) {
  const std::string path = dir + "/" + name + ".bin";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(code), static_cast<std::streamsize>(size));
  if (!out) Fail("BITJIT_JIT_DUMP: cannot write ", path);
}

// perf reads /tmp/perf-PID.map lines "START SIZE NAME" (hex, no 0x) to symbolize JIT code.
void RegisterWithPerf(const std::string& name, const uint8_t* code, size_t size) {
  const char* env = std::getenv("BITJIT_JIT_PERF_MAP");
  if (env != nullptr && std::strcmp(env, "0") == 0) return;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  const std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
  if (FILE* f = std::fopen(path.c_str(), "a")) {
    std::fprintf(f, "%lx %zx %s\n", reinterpret_cast<unsigned long>(code), size, name.c_str());
    std::fclose(f);
  }  // Profiling support is best effort: a read-only /tmp must not stop the kernel.
}

}  // namespace

// DontSetProtectRWE: Xbyak would otherwise map the buffer writable and executable at once.
// We write it, then flip it to read+exec in Create() (W^X).
JitGenerator::JitGenerator(std::string name, size_t max_code_size)
    : Xbyak::CodeGenerator(max_code_size, Xbyak::DontSetProtectRWE), name_(std::move(name)) {}

void JitGenerator::Create() {
  if (created_) Fail("JIT kernel ", name_, " created twice");
  generate();
  if (hasUndefinedLabel()) Fail("JIT kernel ", name_, " has an undefined label");
  setProtectModeRE();  // throws Xbyak::Error if mprotect fails
  created_ = true;
  if (const char* dir = std::getenv("BITJIT_JIT_DUMP"); dir != nullptr && *dir != '\0') {
    DumpCode(dir, name_, getCode(), getSize());
  }
  RegisterWithPerf(name_, getCode(), getSize());
}

void JitGenerator::Preamble() {
  for (const Xbyak::Reg64& reg : kCalleeSaved) push(reg);
}

void JitGenerator::Postamble() {
  for (auto it = std::rbegin(kCalleeSaved); it != std::rend(kCalleeSaved); ++it) pop(*it);
  vzeroupper();
  ret();
}

void JitGenerator::PrefetchLines(const Xbyak::Reg64& base, int offset, int bytes) {
  for (int line = 0; line < bytes; line += 64) prefetcht0(ptr[base + offset + line]);
}

void JitGenerator::CheckPrefetchDistance(const std::string& kernel, int bytes) {
  if (bytes < 0 || bytes % 64 != 0 || bytes > (1 << 20)) {
    Fail(kernel, " prefetch distance ", bytes, " (a multiple of 64, at most 1 MiB)");
  }
}

void JitGenerator::HorizontalSumPs(const Xbyak::Ymm& acc, const Xbyak::Ymm& scratch) {
  const Xbyak::Xmm x(acc.getIdx()), h(scratch.getIdx());
  // Registers 16-31 exist only in EVEX encodings (AVX-512), where vextractf32x4 does the work
  // of the VEX-only vextractf128.
  if (h.getIdx() >= 16 || acc.getIdx() >= 16) {
    vextractf32x4(h, acc, 1);
  } else {
    vextractf128(h, acc, 1);
  }
  vaddps(x, x, h);
  vmovhlps(h, h, x);
  vaddps(x, x, h);
  vmovshdup(h, x);
  vaddss(x, x, h);
}

}  // namespace bitjit::codegen
