// JIT infrastructure: ISA names and detection, the kernel cache, W^X, and the debugging hooks
// (BITJIT_JIT_DUMP files, /tmp/perf-PID.map).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/jit/jit_generator.h"
#include "codegen/jit/kernel_cache.h"
#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

// Returns its argument plus a constant: small, and observable.
class AddKernel : public JitGenerator {
 public:
  AddKernel(std::string name, int addend) : JitGenerator(std::move(name), 4096), addend_(addend) {}
  int Call(int x) const { return entry<int (*)(int)>()(x); }

 private:
  void generate() override {
    Preamble();
    lea(eax, ptr[rdi + addend_]);
    Postamble();
  }
  int addend_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Permissions ("r-xp") of the mapping that holds `addr`, from /proc/self/maps.
std::string MappingPermissions(const void* addr) {
  std::ifstream maps("/proc/self/maps");
  const auto a = reinterpret_cast<uintptr_t>(addr);
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream is(line);
    std::string range, perms;
    is >> range >> perms;
    const size_t dash = range.find('-');
    const uintptr_t lo = std::stoull(range.substr(0, dash), nullptr, 16);
    const uintptr_t hi = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (a >= lo && a < hi) return perms;
  }
  return "";
}

TEST(CpuFeatures, IsaNamesRoundTrip) {
  for (Isa isa :
       {Isa::kRef, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAvxVnni, Isa::kAvx512Amx}) {
    EXPECT_EQ(ParseIsa(IsaName(isa)), isa);
  }
  EXPECT_EQ(ParseIsa("avx512vnni"), Isa::kAvx512Vnni);
  EXPECT_EQ(ParseIsa("avx512amx"), Isa::kAvx512Amx);
}

TEST(CpuFeatures, BadIsaNameIsAnError) {
  for (const char* bad : {"", "AVX2", "avx-512", "sse4", "avx512 "}) {
    EXPECT_THROW(ParseIsa(bad), Error) << bad;
  }
  try {
    ParseIsa("neon");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("avx512vnni"), std::string::npos) << e.what();
  }
}

TEST(CpuFeatures, BestIsaIsSupportedAndResolvesToItself) {
  EXPECT_TRUE(IsaSupported(Isa::kRef));
  EXPECT_TRUE(IsaSupported(BestIsa()));
  EXPECT_EQ(ResolveIsa(BestIsa()), BestIsa());
  // Every VNNI / AVX-512 level implies the baseline it builds on.
  EXPECT_TRUE(!IsaSupported(Isa::kAvx512Vnni) || IsaSupported(Isa::kAvx512));
  EXPECT_TRUE(!IsaSupported(Isa::kAvx512Amx) || IsaSupported(Isa::kAvx512Vnni));
  EXPECT_TRUE(!IsaSupported(Isa::kAvx512) || IsaSupported(Isa::kAvx2));
  EXPECT_TRUE(!IsaSupported(Isa::kAvxVnni) || IsaSupported(Isa::kAvx2));
}

TEST(CpuFeatures, UnsupportedIsaIsAnErrorNamingTheFeature) {
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAvxVnni, Isa::kAvx512Amx}) {
    if (IsaSupported(isa)) {
      EXPECT_EQ(ResolveIsa(isa), isa);
      continue;
    }
    try {
      ResolveIsa(isa);
      FAIL() << "no error for " << IsaName(isa);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("lacks"), std::string::npos) << e.what();
    }
  }
}

TEST(CpuFeatures, HostIdentityIsFilledIn) {
  const CpuIdentity& cpu = HostCpu();
  EXPECT_FALSE(cpu.vendor.empty());
  EXPECT_GT(cpu.family, 0);
  EXPECT_EQ(cpu.Signature().rfind(cpu.vendor + "-", 0), 0u) << cpu.Signature();
}

TEST(JitGenerator, RunsAndIsMappedReadExecuteOnly) {
  AddKernel kernel("test_add_kernel", 42);
  kernel.Create();
  EXPECT_EQ(kernel.Call(1), 43);
  EXPECT_EQ(kernel.Call(-50), -8);
  EXPECT_EQ(MappingPermissions(kernel.getCode()).substr(0, 3), "r-x");
  EXPECT_THROW(kernel.Create(), Error);
}

TEST(JitGenerator, DumpWritesTheKernelBytes) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("bitjit_dump_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_EQ(setenv("BITJIT_JIT_DUMP", dir.c_str(), 1), 0);
  AddKernel kernel("test_dump_kernel", 7);
  kernel.Create();
  unsetenv("BITJIT_JIT_DUMP");
  const std::string bytes = ReadFile((dir / "test_dump_kernel.bin").string());
  ASSERT_EQ(bytes.size(), kernel.code_size());
  EXPECT_EQ(bytes,
            std::string(reinterpret_cast<const char*>(kernel.getCode()), kernel.code_size()));
  std::filesystem::remove_all(dir);
}

TEST(JitGenerator, RegistersWithPerf) {
  AddKernel kernel("test_perf_map_kernel", 1);
  kernel.Create();
  const std::string map = ReadFile("/tmp/perf-" + std::to_string(getpid()) + ".map");
  std::ostringstream line;
  line << std::hex << reinterpret_cast<uintptr_t>(kernel.getCode()) << " " << kernel.code_size()
       << " test_perf_map_kernel\n";
  EXPECT_NE(map.find(line.str()), std::string::npos) << map;
}

TEST(KernelCache, SameKeySameKernel) {
  KernelCache& cache = KernelCache::Global();
  int made = 0;
  auto make = [&](int addend) {
    return [&made, addend]() -> std::unique_ptr<JitGenerator> {
      ++made;
      return std::make_unique<AddKernel>("test_cache_" + std::to_string(addend), addend);
    };
  };
  const KernelKey a{"test_add", {1}, Isa::kRef, {}};
  const KernelKey b{"test_add", {2}, Isa::kRef, {}};
  auto k1 = cache.GetOrCreate(a, make(1));
  auto k2 = cache.GetOrCreate(a, make(1));
  auto k3 = cache.GetOrCreate(b, make(2));
  EXPECT_EQ(k1.get(), k2.get());
  EXPECT_NE(k1.get(), k3.get());
  EXPECT_EQ(made, 2);
  EXPECT_TRUE(k1->created());
  EXPECT_EQ(static_cast<const AddKernel*>(k3.get())->Call(5), 7);
  EXPECT_EQ(a.ToString(), "test_add/shape=1/isa=ref/tile=");
}

TEST(KernelCache, ConcurrentFirstUseGeneratesOnce) {
  std::atomic<int> made{0};
  std::vector<const JitGenerator*> got(8);
  std::vector<std::thread> threads;
  const KernelKey key{"test_concurrent", {3}, Isa::kRef, {1, 2}};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      got[i] = KernelCache::Global()
                   .GetOrCreate(key,
                                [&]() -> std::unique_ptr<JitGenerator> {
                                  ++made;
                                  return std::make_unique<AddKernel>("test_concurrent", 3);
                                })
                   .get();
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(made.load(), 1);
  for (const JitGenerator* k : got) EXPECT_EQ(k, got[0]);
}

}  // namespace
}  // namespace bitjit::codegen
