// A plan's sidecar mapped read-only, and whether the kernel maps it in 2 MiB pages: what
// decides if a load runs on it in place or copies it into huge-page memory
// (ModelOptions::plan_weights).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace bitjit::plan {

// A read-only mapping of a whole regular file, under the guard that turns a fault on a page the
// file lost (it was truncated while in use) into a one-line error
// (frontend/gguf/mapped_file_faults.h). The mapping starts on a 2 MiB boundary, as file offset
// 0 does: only then can the kernel map the file's 2 MiB folios with 2 MiB page-table entries.
class MappedSidecar {
 public:
  // Throws bitjit::Error "cannot open P: ...", "P is not a regular file", "cannot map P".
  explicit MappedSidecar(const std::string& path);
  ~MappedSidecar();
  MappedSidecar(const MappedSidecar&) = delete;
  MappedSidecar& operator=(const MappedSidecar&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // Drops the whole pages inside [offset, offset + bytes) once they have been copied.
  void Release(size_t offset, size_t bytes) const;
  // Faults in (reading from disk where the page cache lacks them) up to kHugePageSamples whole,
  // 2 MiB-aligned pieces spread over the file, and counts how many of their bytes the kernel
  // maps with 2 MiB entries (FilePmdMapped in /proc/self/smaps). A sample, not the whole file:
  // a sidecar that is then copied is not first mapped whole next to its copy. huge is 0 where
  // the kernel cannot fault ahead (MADV_POPULATE_READ: Linux 5.14) or says nothing.
  struct HugePageSample {
    size_t sampled = 0, huge = 0;  // bytes
  };
  static constexpr int kHugePageSamples = 32;
  HugePageSample SampleHugePages() const;

 private:
  std::string path_;  // the guard's message names it; must outlive the registration
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// The FilePmdMapped bytes of the mapping that starts at `start`, read from `smaps` (the text
// of /proc/self/smaps); 0 if no mapping starts there or it has no such line.
size_t FilePmdMappedBytes(const std::string& smaps, const void* start);

}  // namespace bitjit::plan
