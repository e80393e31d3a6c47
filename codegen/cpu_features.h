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
  kAvx512Amx,   // kAvx512Vnni + AMX-INT8 tiles (Sapphire Rapids+): tdpbsud for prefill GEMMs
};

// The ISA of the vector (non-tile) kernels: kAvx512Amx runs the kAvx512Vnni ones for
// everything but the ternary prefill GEMM; every other Isa is its own.
inline Isa VectorIsa(Isa isa) {
  return isa == Isa::kAvx512Amx ? Isa::kAvx512Vnni : isa;
}

// True for the ISAs whose vector kernels use zmm registers (AVX-512).
inline bool IsAvx512Isa(Isa isa) {
  const Isa v = VectorIsa(isa);
  return v == Isa::kAvx512 || v == Isa::kAvx512Vnni;
}

// "ref", "avx2", "avx512", "avx512vnni", "avxvnni", "avx512amx".
std::string_view IsaName(Isa isa);

// Prints IsaName (for logs and test names).
std::ostream& operator<<(std::ostream& os, Isa isa);

// Inverse of IsaName; throws bitjit::Error naming the valid choices on anything else.
Isa ParseIsa(std::string_view name);

// True when this CPU (and the OS, which must save the wider register state) can run `isa`.
// For kAvx512Amx this also asks Linux, once per process, for permission to use the AMX tile
// data (arch_prctl ARCH_REQ_XCOMP_PERM): without it the first tile instruction faults.
bool IsaSupported(Isa isa);

// Requests the AMX tile-data permission (once per process, thread-safe); throws bitjit::Error
// saying why when the CPU or the kernel refuses. The AMX kernels call it before they exist.
void RequireAmxTilePermission();

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
