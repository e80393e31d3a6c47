// Which x86 vector instruction sets this CPU can run, and the names bitjit uses for them.
// The JIT picks a kernel family per Isa; tests run every Isa the CPU supports and skip the rest.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

namespace bitjit::codegen {

// Instruction-set levels the kernels are written for. Ordered roughly by capability, but the
// order is not a strict chain: kAvxVnni (VEX-encoded VNNI on 256-bit vectors, Alder Lake and
// later) exists on CPUs without AVX-512, and many AVX-512 CPUs (Zen 4) lack it.
enum class Isa {
  kRef,         // portable C++, no JIT
  kAvx2,        // AVX2 (+ FMA, F16C): vpmaddubsw + vpmaddwd on ymm
  kAvx512,      // AVX-512 F+BW+VL: vpmaddubsw + vpmaddwd on zmm
  kAvx512Vnni,  // AVX-512 F+BW+VL + AVX512_VNNI: vpdpbusd on zmm
  kAvxVnni,     // AVX2 + AVX-VNNI: VEX vpdpbusd on ymm
};

// "ref", "avx2", "avx512", "avx512vnni", "avxvnni".
std::string_view IsaName(Isa isa);

// Prints IsaName (for logs and test names).
std::ostream& operator<<(std::ostream& os, Isa isa);

// Inverse of IsaName; throws bitjit::Error naming the valid choices on anything else.
Isa ParseIsa(std::string_view name);

// True when this CPU (and the OS, which must save the wider register state) can run `isa`.
bool IsaSupported(Isa isa);

// True when this CPU has AVX512_VBMI (64-byte table lookups: vpermb, vpermi2b), which the
// 1.6-bit ternary kernels use on top of kAvx512Vnni.
bool HasAvx512Vbmi();

// The fastest Isa this CPU supports for the ternary kernels.
Isa BestIsa();

// `requested` if the CPU supports it; otherwise throws bitjit::Error saying what is missing.
Isa ResolveIsa(Isa requested);

// Identity of the host CPU, for logs and for keying tuning caches: results tuned on one
// microarchitecture should not be reused on another.
struct CpuIdentity {
  std::string vendor;  // CPUID leaf 0, e.g. "AuthenticAMD", "GenuineIntel"
  std::string brand;   // CPUID leaves 0x80000002..4, trimmed, e.g. "AMD EPYC 9654 ..."
  int family = 0;      // display family (base + extended), e.g. 25 for Zen 3/4
  int model = 0;       // display model (extended model << 4 | model)
  int stepping = 0;
  // "vendor-family-model-stepping", e.g. "AuthenticAMD-25-17-1": a stable cache key.
  std::string Signature() const;
};

// Detected once per process.
const CpuIdentity& HostCpu();

}  // namespace bitjit::codegen
