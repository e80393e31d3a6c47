// Process-wide cache of finished JIT kernels. Generating a kernel costs tens of microseconds
// to milliseconds and its code is immutable afterwards, so every (family, shape, ISA, tile)
// combination is generated once and shared by all users and threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/jit/jit_generator.h"

namespace bitjit::codegen {

// Everything the generated code depends on. Two keys that compare equal must describe the
// same machine code.
struct KernelKey {
  std::string family;          // e.g. "ternary_gemv_i32"
  std::vector<int64_t> shape;  // compile-time shape constants, e.g. {K}
  Isa isa = Isa::kRef;
  std::vector<int64_t> tile;  // blocking parameters, e.g. {rows, tokens}

  bool operator==(const KernelKey&) const = default;
  // "family/shape=2560/isa=avx512vnni/tile=32,8": the map key and a readable label.
  std::string ToString() const;
};

class KernelCache {
 public:
  using Factory = std::function<std::unique_ptr<JitGenerator>()>;

  // The one cache of this process.
  static KernelCache& Global();

  // The kernel for `key`; on first use builds it with `make` and calls Create() on it. Safe to
  // call from many threads: concurrent first uses of one key generate it once. Kernels live as
  // long as any shared_ptr to them (or the cache) does.
  std::shared_ptr<const JitGenerator> GetOrCreate(const KernelKey& key, const Factory& make);

  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const JitGenerator>> kernels_;
};

}  // namespace bitjit::codegen
