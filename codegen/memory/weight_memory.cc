#include "codegen/memory/weight_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

// An anonymous mapping of `bytes`, started on a huge-page boundary (the kernel only backs
// whole, aligned 2 MiB ranges with huge pages) and advised for them.
std::shared_ptr<uint8_t[]> MapHugePageBlock(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t page = 4096;
  const size_t length = (bytes + page - 1) / page * page;
  if (length < bytes || length > SIZE_MAX - kHugePageBytes)
    Fail("weight memory of ", bytes, " bytes is too large");
  void* start = MapAtHugePageBoundary(length, PROT_READ | PROT_WRITE, -1);
  if (start == MAP_FAILED)
    Fail("out of memory mapping ", bytes, " bytes of weights: ", std::strerror(errno));
  // Advice only: on kernels without THP this fails and 4 KiB pages serve the same bytes.
  ::madvise(start, length, MADV_HUGEPAGE);
  return std::shared_ptr<uint8_t[]>(static_cast<uint8_t*>(start),
                                    [length](uint8_t* p) { ::munmap(p, length); });
}

}  // namespace

void* MapAtHugePageBoundary(size_t length, int prot, int fd) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (length == 0 || length > SIZE_MAX - kHugePageBytes - page) {
    errno = EINVAL;
    return MAP_FAILED;
  }
  length = (length + page - 1) / page * page;
  const size_t reserved = length + kHugePageBytes;
  void* reserve = ::mmap(nullptr, reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (reserve == MAP_FAILED) return MAP_FAILED;
  const auto base = reinterpret_cast<uintptr_t>(reserve);
  const uintptr_t start = (base + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  const int flags = MAP_PRIVATE | MAP_FIXED | (fd < 0 ? MAP_ANONYMOUS : 0);
  if (::mmap(reinterpret_cast<void*>(start), length, prot, flags, fd, 0) == MAP_FAILED) {
    const int e = errno;
    ::munmap(reserve, reserved);
    errno = e;
    return MAP_FAILED;
  }
  if (start > base) ::munmap(reserve, start - base);
  const uintptr_t end = start + length, reserve_end = base + reserved;
  if (reserve_end > end) ::munmap(reinterpret_cast<void*>(end), reserve_end - end);
  return reinterpret_cast<void*>(start);
}

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
