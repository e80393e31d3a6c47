#include "codegen/cpu_features.h"

#include <xbyak/xbyak_util.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ostream>

#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

using Cpu = Xbyak::util::Cpu;

// Xbyak's Cpu already checks XCR0 (the OS saves ymm/zmm state) before reporting AVX/AVX-512.
const Cpu& HostCpuFlags() {
  static const Cpu cpu;
  return cpu;
}

struct IsaInfo {
  Isa isa;
  std::string_view name;
};
constexpr IsaInfo kIsas[] = {{Isa::kRef, "ref"},         {Isa::kAvx2, "avx2"},
                             {Isa::kAvx512, "avx512"},   {Isa::kAvx512Vnni, "avx512vnni"},
                             {Isa::kAvxVnni, "avxvnni"}, {Isa::kAvx512Amx, "avx512amx"}};

// Linux's AMX opt-in (arch/x86/include/uapi/asm/prctl.h): XFEATURE_XTILEDATA is state
// component 18. Not in every libc's headers, so spelled out here.
constexpr long kArchReqXcompPerm = 0x1023;
constexpr long kXfeatureXtiledata = 18;

// The outcome of the one permission request of this process: empty when granted.
const std::string& AmxPermissionError() {
  static const std::string error = [] {
    const Cpu& cpu = HostCpuFlags();
    if (!cpu.has(Cpu::tAMX_TILE) || !cpu.has(Cpu::tAMX_INT8)) {
      return std::string("AMX-TILE, AMX-INT8");
    }
    if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) {
      return std::string("the OS permission for AMX tile data (arch_prctl ARCH_REQ_XCOMP_PERM: ") +
             std::strerror(errno) + ")";
    }
    return std::string();
  }();  // a function-local static: initialized once, thread-safe
  return error;
}

// The CPU features an Isa needs, as text for error messages; empty when all are present.
std::string MissingFeatures(Isa isa) {
  const Cpu& cpu = HostCpuFlags();
  std::string missing;
  auto need = [&](Cpu::Type type, const char* name) {
    if (!cpu.has(type)) missing += missing.empty() ? name : std::string(", ") + name;
  };
  switch (isa) {
    case Isa::kRef:
      break;
    case Isa::kAvx2:  // every AVX2 CPU has FMA and F16C; the F16 kernels use them
      need(Cpu::tAVX2, "AVX2");
      need(Cpu::tFMA, "FMA");
      need(Cpu::tF16C, "F16C");
      break;
    case Isa::kAvx512:
      need(Cpu::tAVX512F, "AVX512F");
      need(Cpu::tAVX512BW, "AVX512BW");
      need(Cpu::tAVX512VL, "AVX512VL");
      break;
    case Isa::kAvx512Vnni:
      need(Cpu::tAVX512F, "AVX512F");
      need(Cpu::tAVX512BW, "AVX512BW");
      need(Cpu::tAVX512VL, "AVX512VL");
      need(Cpu::tAVX512_VNNI, "AVX512_VNNI");
      break;
    case Isa::kAvx512Amx:
      missing = MissingFeatures(Isa::kAvx512Vnni);
      if (missing.empty() && !AmxPermissionError().empty()) missing = AmxPermissionError();
      break;
    case Isa::kAvxVnni:
      need(Cpu::tAVX2, "AVX2");
      need(Cpu::tFMA, "FMA");
      need(Cpu::tF16C, "F16C");
      need(Cpu::tAVX_VNNI, "AVX-VNNI (VEX)");
      break;
  }
  return missing;
}

std::string CpuidString(const uint32_t* regs, int n) {
  std::string s(reinterpret_cast<const char*>(regs), static_cast<size_t>(n) * 4);
  s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
  const size_t first = s.find_first_not_of(' ');
  const size_t last = s.find_last_not_of(' ');
  return first == std::string::npos ? std::string() : s.substr(first, last - first + 1);
}

CpuIdentity DetectIdentity() {
  const Cpu& cpu = HostCpuFlags();
  CpuIdentity id;
  uint32_t regs[4] = {};
  Cpu::getCpuid(0, regs);
  const uint32_t vendor[3] = {regs[1], regs[3], regs[2]};  // EBX, EDX, ECX spell the vendor
  id.vendor = CpuidString(vendor, 3);
  Cpu::getCpuid(0x80000000u, regs);
  if (regs[0] >= 0x80000004u) {
    uint32_t brand[12] = {};
    for (uint32_t leaf = 0; leaf < 3; ++leaf) Cpu::getCpuid(0x80000002u + leaf, brand + 4 * leaf);
    id.brand = CpuidString(brand, 12);
  }
  id.family = cpu.displayFamily;
  id.model = cpu.displayModel;
  id.stepping = cpu.stepping;
  return id;
}

}  // namespace

std::string_view IsaName(Isa isa) {
  for (const IsaInfo& info : kIsas) {
    if (info.isa == isa) return info.name;
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, Isa isa) {
  return os << IsaName(isa);
}

Isa ParseIsa(std::string_view name) {
  for (const IsaInfo& info : kIsas) {
    if (info.name == name) return info.isa;
  }
  Fail("unknown ISA '", name,
       "' (expected one of ref, avx2, avx512, avx512vnni, avxvnni, avx512amx)");
}

bool IsaSupported(Isa isa) {
  return MissingFeatures(isa).empty();
}

void RequireAmxTilePermission() {
  const std::string& error = AmxPermissionError();
  if (!error.empty())
    Fail("AMX kernels cannot run on this machine (", HostCpu().brand, "): it lacks ", error);
}

bool HasAvx512Vbmi() {
  return IsaSupported(Isa::kAvx512) && HostCpuFlags().has(Cpu::tAVX512_VBMI);
}

Isa BestIsa() {
  // VNNI fuses the multiply and both widening adds; 512-bit vectors halve the instruction
  // count again, so a zmm kernel wins over VEX VNNI on CPUs that have both. AMX adds tile
  // GEMMs for prefill on top of the zmm VNNI kernels.
  for (Isa isa : {Isa::kAvx512Amx, Isa::kAvx512Vnni, Isa::kAvx512, Isa::kAvxVnni, Isa::kAvx2}) {
    if (IsaSupported(isa)) return isa;
  }
  return Isa::kRef;
}

Isa ResolveIsa(Isa requested) {
  const std::string missing = MissingFeatures(requested);
  if (!missing.empty()) {
    Fail("ISA ", IsaName(requested), " is not supported by this CPU (", HostCpu().brand,
         "): it lacks ", missing);
  }
  return requested;
}

std::string CpuIdentity::Signature() const {
  return vendor + "-" + std::to_string(family) + "-" + std::to_string(model) + "-" +
         std::to_string(stepping);
}

const CpuIdentity& HostCpu() {
  static const CpuIdentity id = DetectIdentity();
  return id;
}

}  // namespace bitjit::codegen
