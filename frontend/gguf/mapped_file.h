// A whole regular file mapped read-only (MAP_PRIVATE), registered with mapped_file_faults so
// that a file truncated while mapped reads as an error, not SIGBUS. Model files (GGUF,
// safetensors) are read through this.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace bitjit::gguf {

class MappedFile {
 public:
  // Throws bitjit::Error "cannot open P: ...", "cannot stat P: ...", "P is not a regular file",
  // "cannot map P: ...". An empty file gives an empty mapping.
  static std::unique_ptr<MappedFile> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {static_cast<const uint8_t*>(base_), size_}; }

 private:
  MappedFile() = default;
  std::string path_;  // kept for the fault handler's messages
  void* base_ = nullptr;
  size_t size_ = 0;
};

}  // namespace bitjit::gguf
