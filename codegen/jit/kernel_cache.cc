#include "codegen/jit/kernel_cache.h"

#include <sstream>

namespace bitjit::codegen {
namespace {

void AppendList(std::ostringstream& os, const std::vector<int64_t>& values) {
  for (size_t i = 0; i < values.size(); ++i) os << (i ? "," : "") << values[i];
}

}  // namespace

std::string KernelKey::ToString() const {
  std::ostringstream os;
  os << family << "/shape=";
  AppendList(os, shape);
  os << "/isa=" << IsaName(isa) << "/tile=";
  AppendList(os, tile);
  return os.str();
}

KernelCache& KernelCache::Global() {
  static KernelCache* cache = new KernelCache();  // never destroyed: kernels may run at exit
  return *cache;
}

std::shared_ptr<const JitGenerator> KernelCache::GetOrCreate(const KernelKey& key,
                                                             const Factory& make) {
  const std::string id = key.ToString();
  // One lock over lookup and generation: generation is short and rare (once per key), and this
  // guarantees a key is never generated twice.
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = kernels_.find(id); it != kernels_.end()) return it->second;
  std::unique_ptr<JitGenerator> kernel = make();
  kernel->Create();
  std::shared_ptr<const JitGenerator> shared(std::move(kernel));
  kernels_.emplace(id, shared);
  return shared;
}

size_t KernelCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return kernels_.size();
}

}  // namespace bitjit::codegen
