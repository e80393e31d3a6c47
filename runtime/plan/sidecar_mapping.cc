#include "runtime/plan/sidecar_mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "codegen/memory/weight_memory.h"
#include "frontend/gguf/mapped_file_faults.h"
#include "ir/base/error.h"
#include "ir/base/pages.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

namespace bitjit::plan {
MappedSidecar::MappedSidecar(const std::string& path) : path_(path) {
  // O_NONBLOCK: opening a FIFO put in the sidecar's place must not wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) Fail("cannot open ", path, ": ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    Fail(path, " is not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  void* map = size_ > 0 ? codegen::MapAtHugePageBoundary(size_, PROT_READ, fd) : nullptr;
  ::close(fd);
  if (map == MAP_FAILED) Fail("cannot map ", path);
  data_ = static_cast<uint8_t*>(map);
  if (data_ == nullptr) return;
  gguf::RegisterMappedFile(data_, size_, path_.c_str());
  // VM_HUGEPAGE: pages the kernel reads in for this mapping come in 2 MiB folios where the
  // filesystem has them (without it, a cold read of an isolated piece gets small folios, and a
  // sidecar read back cold would stay in 4 KiB pages). Advice only: refused, nothing changes.
  ::madvise(data_, size_, MADV_HUGEPAGE);
}

MappedSidecar::~MappedSidecar() {
  if (data_ == nullptr) return;
  gguf::UnregisterMappedFile(data_);
  ::munmap(data_, size_);
}

void MappedSidecar::Release(size_t offset, size_t bytes) const {
  DropWholePages(data_ + offset, bytes);
}

MappedSidecar::HugePageSample MappedSidecar::SampleHugePages() const {
  HugePageSample sample;
  const size_t pages = size_ / codegen::kHugePageBytes;
  const size_t pieces = std::min<size_t>(pages, kHugePageSamples);
  for (size_t i = 0; i < pieces; ++i) {
    const size_t page = i * pages / pieces;
    if (::madvise(data_ + page * codegen::kHugePageBytes, codegen::kHugePageBytes,
                  MADV_POPULATE_READ) != 0)
      return {};
    sample.sampled += codegen::kHugePageBytes;
  }
  if (pieces == 0) return sample;
  std::ifstream in("/proc/self/smaps");
  std::stringstream text;
  text << in.rdbuf();
  sample.huge = FilePmdMappedBytes(text.str(), data_);
  return sample;
}

size_t FilePmdMappedBytes(const std::string& smaps, const void* start) {
  char header[32];
  std::snprintf(header, sizeof header, "%08" PRIxPTR "-",  // as the kernel prints it
                reinterpret_cast<uintptr_t>(start));
  std::istringstream lines(smaps);
  std::string line;
  bool in_mapping = false;
  while (std::getline(lines, line)) {
    // A mapping's header line starts with its range, "start-end " in lowercase hex.
    const size_t dash = line.find('-'), space = line.find(' ');
    const bool is_header = dash > 0 && dash < space && space != std::string::npos &&
                           line.find_first_not_of("0123456789abcdef-") == space;
    if (is_header) {
      if (in_mapping) return 0;
      in_mapping = line.rfind(header, 0) == 0;
      continue;
    }
    unsigned long long kb = 0;
    if (in_mapping && std::sscanf(line.c_str(), "FilePmdMapped: %llu kB", &kb) == 1)
      return static_cast<size_t>(kb) << 10;
  }
  return 0;
}

}  // namespace bitjit::plan
