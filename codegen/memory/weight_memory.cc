#include "codegen/memory/weight_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// An anonymous mapping of `bytes`, started on a huge-page boundary (the kernel only backs
// whole, aligned 2 MiB ranges with huge pages) and advised for them.
std::shared_ptr<uint8_t[]> MapHugePageBlock(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t page = 4096;
  const size_t length = (bytes + page - 1) / page * page;
  if (length < bytes || length > SIZE_MAX - kHugePage)
    Fail("weight memory of ", bytes, " bytes is too large");
  // Over-map by one huge page, then trim both ends so the block starts 2 MiB aligned.
  void* raw = ::mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    Fail("out of memory mapping ", bytes, " bytes of weights: ", std::strerror(errno));
  const auto base = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t start = (base + kHugePage - 1) / kHugePage * kHugePage;
  if (start > base) ::munmap(raw, start - base);
  const uintptr_t end = start + length;
  const uintptr_t raw_end = base + length + kHugePage;
  if (raw_end > end) ::munmap(reinterpret_cast<void*>(end), raw_end - end);
  // Advice only: on kernels without THP this fails and 4 KiB pages serve the same bytes.
  ::madvise(reinterpret_cast<void*>(start), length, MADV_HUGEPAGE);
  return std::shared_ptr<uint8_t[]>(reinterpret_cast<uint8_t*>(start),
                                    [length](uint8_t* p) { ::munmap(p, length); });
}

}  // namespace

WeightArena::WeightArena(size_t capacity)
    : block_(MapHugePageBlock(capacity)), capacity_(capacity) {}

std::shared_ptr<uint8_t[]> WeightArena::Take(size_t bytes) {
  const size_t need = Footprint(bytes);
  if (need < bytes || need > capacity_ - used_) {
    Fail("weight arena of ", capacity_, " bytes cannot hold ", bytes, " more (", used_, " used)");
  }
  // Aliasing constructor: the piece points into the block and keeps all of it alive. Fresh
  // anonymous pages are already zero.
  std::shared_ptr<uint8_t[]> piece(block_, block_.get() + used_);
  used_ += need;
  return piece;
}

std::shared_ptr<uint8_t[]> AllocateWeightMemory(size_t bytes) {
  return WeightArena(WeightArena::Footprint(bytes)).Take(bytes);
}

}  // namespace bitjit::codegen
