// Zero-copy reader for GGUF v2/v3 files. The file is memory-mapped; keys, strings and tensor
// data are views into the mapping, which lives as long as the GgufFile. Every count, length,
// offset and size is checked against the file before it is used, so a damaged or hostile file
// yields a bitjit::Error naming the problem and its byte offset, never a read outside the
// mapping.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "frontend/gguf/ggml_types.h"
#include "frontend/gguf/mapped_file.h"

namespace bitjit::gguf {

enum class ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
std::string_view ValueTypeName(ValueType type);
// Bytes of one value of a fixed-size type; 0 for strings and arrays. bitjit::Error for a
// number that is no ValueType (the reader checks file values before asking).
uint64_t ValueTypeWidth(ValueType type);

struct Value;

// An array value. Elements of fixed-size types stay in the file (`raw`, little-endian);
// strings and nested arrays are parsed into `items`.
struct Array {
  ValueType element_type = ValueType::kU8;
  uint64_t count = 0;
  std::span<const uint8_t> raw;         // fixed-size element types
  std::vector<Value> items;             // strings and arrays
};

struct Value {
  ValueType type = ValueType::kU8;
  // Integers (any width, sign-extended or zero-extended), bool as 0/1.
  std::variant<uint64_t, int64_t, double, std::string_view, std::shared_ptr<Array>> data;

  bool IsInteger() const;
  // Numeric conversions; throw bitjit::Error when the value is not numeric or out of range.
  uint64_t AsU64(std::string_view what) const;
  int64_t AsI64(std::string_view what) const;
  double AsF64(std::string_view what) const;
  std::string_view AsString(std::string_view what) const;
  const Array& AsArray(std::string_view what) const;
};

struct KeyValue {
  std::string_view key;
  Value value;
  uint64_t offset = 0;  // byte offset of the key in the file
};

struct TensorInfo {
  std::string_view name;
  uint32_t type = 0;        // a GgmlType id (known: GgmlTypeName(type) has a value)
  uint32_t n_dims = 0;
  uint64_t ne[4] = {1, 1, 1, 1};  // ne[0] is innermost
  uint64_t offset = 0;      // relative to the data section
  uint64_t n_bytes = 0;     // size of the data, by type
  uint64_t info_offset = 0; // byte offset of this tensor's info record in the file
  std::span<const uint8_t> data;  // view into the mapping

  uint64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  GgmlType ggml_type() const { return static_cast<GgmlType>(type); }
};

class GgufFile {
 public:
  // Maps and validates a file. Throws bitjit::Error.
  static std::unique_ptr<GgufFile> Open(const std::string& path);
  // Validates a buffer the caller keeps alive (tests, fuzzing). Throws bitjit::Error.
  static std::unique_ptr<GgufFile> FromBuffer(std::span<const uint8_t> bytes);

  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t file_size() const { return bytes_.size(); }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  std::span<const uint8_t> bytes() const { return bytes_; }

  const std::vector<KeyValue>& kvs() const { return kvs_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const Value* Find(std::string_view key) const;
  const TensorInfo* FindTensor(std::string_view name) const;

  // Typed lookups that throw "missing key X" / "key X has type T, expected ..." errors.
  uint64_t GetU64(std::string_view key) const;
  double GetF64(std::string_view key) const;
  bool GetBool(std::string_view key) const;
  std::string_view GetString(std::string_view key) const;
  const Array& GetArray(std::string_view key) const;
  // Strings of an array-of-strings key.
  std::vector<std::string_view> GetStringArray(std::string_view key) const;

  // Drops the whole pages inside `range` from this process's resident memory (they stay in
  // the page cache and read back on the next access). For tensors that were copied elsewhere,
  // e.g. ternary weights repacked for the kernels. No-op for in-memory buffers.
  void ReleasePages(std::span<const uint8_t> range) const;

 private:
  GgufFile() = default;
  void Parse();

  std::string path_;
  std::unique_ptr<MappedFile> mapping_;  // null for in-memory buffers
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<KeyValue> kvs_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string_view, size_t> kv_index_;
  std::unordered_map<std::string_view, size_t> tensor_index_;
};

// Reads the fixed-size array elements as T (which must match the element width).
template <typename T>
std::vector<T> ArrayElements(const Array& array);

}  // namespace bitjit::gguf

#include <cstring>
#include <stdexcept>
namespace bitjit::gguf {
template <typename T>
std::vector<T> ArrayElements(const Array& array) {
  if (array.raw.size() != array.count * sizeof(T)) {
    throw std::runtime_error("ArrayElements: element width mismatch");
  }
  std::vector<T> out(array.count);
  if (!out.empty()) std::memcpy(out.data(), array.raw.data(), out.size() * sizeof(T));
  return out;
}
}  // namespace bitjit::gguf
