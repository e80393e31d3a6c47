// Dropping the pages of a read-only file mapping once their bytes have been copied elsewhere.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace bitjit {

// Unmaps the whole pages inside [data, data + bytes) of a private read-only file mapping
// (MADV_DONTNEED): they stop counting as the process's memory, and a later read maps them
// again from the page cache. Partial pages at either end stay. Only for file mappings: on
// anonymous memory the same call would zero the pages.
inline void DropWholePages(const void* data, size_t bytes) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace bitjit
