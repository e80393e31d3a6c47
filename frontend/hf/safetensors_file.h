// A safetensors file (Hugging Face's tensor container): an 8-byte little-endian header length
// N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
// {...}}, then the data, offsets relative to its start. Checkpoints are downloaded from anyone,
// so every field is checked before use: the header length (at most 100 MiB, within the file),
// the JSON (nesting, types), dtypes, shapes (at most 8 dims, no overflow), offsets (inside the
// data, sized by dtype and shape, no two tensors overlapping) and duplicate names. Each failure
// is one bitjit::Error line naming the file and the tensor.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "frontend/gguf/mapped_file.h"

namespace bitjit::hf {

enum class Dtype { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

struct SafetensorsTensor {
  std::string name;
  Dtype dtype = Dtype::kF32;
  std::vector<uint64_t> shape;  // outermost first, as PyTorch writes it
  uint64_t n_elements = 1;
  std::span<const uint8_t> data;  // view into the file
};

class SafetensorsFile {
 public:
  inline static constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;

  // Maps and validates a file. Throws bitjit::Error.
  static std::unique_ptr<SafetensorsFile> Open(const std::string& path);
  // Validates a buffer the caller keeps alive; `name` appears in errors. Throws bitjit::Error.
  static std::unique_ptr<SafetensorsFile> FromBuffer(std::span<const uint8_t> bytes,
                                                     std::string name = "<memory>");
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  // Sorted by name (as the safetensors library's keys() lists them, which is the order BitNet's
  // converter writes a checkpoint's tensors in).
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const SafetensorsTensor* Find(std::string_view name) const;

 private:
  SafetensorsFile() = default;
  void Parse();

  std::string path_;
  std::unique_ptr<gguf::MappedFile> mapping_;  // null for in-memory buffers
  std::span<const uint8_t> bytes_;
  std::vector<SafetensorsTensor> tensors_;
  std::unordered_map<std::string_view, size_t> index_;
};

std::string_view DtypeName(Dtype dtype);
uint64_t DtypeBytes(Dtype dtype);

// The values of an F32, F16 or BF16 tensor as floats (exact: every such value is a float).
// Throws bitjit::Error for another dtype.
std::vector<float> ToFloats(const SafetensorsTensor& t);

}  // namespace bitjit::hf
