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

#include "frontend/gguf/mapped_file_faults.h"
#include "ir/base/error.h"
#include "ir/base/pages.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

namespace bitjit::plan {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// Maps `size` bytes of `fd` at a 2 MiB-aligned address: reserves one huge page more than needed,
// maps the file over the aligned start of it, and gives the rest back.
void* MapAligned(int fd, size_t size) {
  if (size > SIZE_MAX - kHugePage) return MAP_FAILED;
  void* reserve = ::mmap(nullptr, size + kHugePage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (reserve == MAP_FAILED) return MAP_FAILED;
  const auto base = reinterpret_cast<uintptr_t>(reserve);
  const uintptr_t start = (base + kHugePage - 1) / kHugePage * kHugePage;
  void* map =
      ::mmap(reinterpret_cast<void*>(start), size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
  if (map == MAP_FAILED) {
    ::munmap(reserve, size + kHugePage);
    return MAP_FAILED;
  }
  if (start > base) ::munmap(reserve, start - base);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t end = (start + size + page - 1) / page * page,
                  reserve_end = base + size + kHugePage;
  if (reserve_end > end) ::munmap(reinterpret_cast<void*>(end), reserve_end - end);
  return map;
}

}  // namespace

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
  void* map = size_ > 0 ? MapAligned(fd, size_) : nullptr;
  ::close(fd);
  if (map == MAP_FAILED) Fail("cannot map ", path);
  data_ = static_cast<uint8_t*>(map);
  if (data_) gguf::RegisterMappedFile(data_, size_, path_.c_str());
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
  const size_t pages = size_ / kHugePage;
  const size_t pieces = std::min<size_t>(pages, kHugePageSamples);
  for (size_t i = 0; i < pieces; ++i) {
    const size_t page = i * pages / pieces;
    if (::madvise(data_ + page * kHugePage, kHugePage, MADV_POPULATE_READ) != 0) return {};
    sample.sampled += kHugePage;
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
