// Streaming writer for GGUF v3 files (the inverse of gguf_file.h). Keys and tensor infos are
// declared first; WriteHeader() then emits the header, the KV pairs and the tensor-info table,
// and the tensors' bytes are streamed in declaration order, chunk by chunk, so that a
// multi-gigabyte model never has to be held in memory. Each tensor is padded to the alignment
// (32 unless set), as ggml's writer does; `general.alignment` is written only if the caller adds
// it as a key.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frontend/gguf/ggml_types.h"
#include "frontend/gguf/gguf_file.h"

namespace bitjit::gguf {

// An owned value to write: its type and its encoding (the bytes after the u32 type tag).
// Strings must be valid UTF-8 (bitjit::Error otherwise), as the reader requires.
class KvValue {
 public:
  static KvValue U8(uint8_t v);
  static KvValue I8(int8_t v);
  static KvValue U16(uint16_t v);
  static KvValue I16(int16_t v);
  static KvValue U32(uint32_t v);
  static KvValue I32(int32_t v);
  static KvValue F32(float v);
  static KvValue Bool(bool v);
  static KvValue String(std::string_view v);
  static KvValue U64(uint64_t v);
  static KvValue I64(int64_t v);
  static KvValue F64(double v);

  // Arrays of fixed-size elements (bools: U8Array with element_type kBool).
  static KvValue U8Array(std::span<const uint8_t> v, ValueType element_type = ValueType::kU8);
  static KvValue I32Array(std::span<const int32_t> v);
  static KvValue U32Array(std::span<const uint32_t> v);
  static KvValue F32Array(std::span<const float> v);
  static KvValue I64Array(std::span<const int64_t> v);
  static KvValue F64Array(std::span<const double> v);
  static KvValue StringArray(std::span<const std::string> v);
  static KvValue StringArray(std::span<const std::string_view> v);
  // An array of arbitrary items, which must all have type `element_type` (strings, scalars or
  // arrays: a GGUF array may hold arrays, each with its own element type and count).
  static KvValue Array(ValueType element_type, std::span<const KvValue> items);

  // A copy of a value read from a file, with the same type and width.
  static KvValue FromFile(const Value& value);

  ValueType type() const { return type_; }
  const std::string& encoding() const { return encoding_; }

 private:
  KvValue(ValueType type, std::string encoding) : type_(type), encoding_(std::move(encoding)) {}
  static KvValue FromFileArray(const gguf::Array& array);
  ValueType type_;
  std::string encoding_;
};

// Where the bytes go.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void Write(const void* data, size_t size) = 0;
};

// Collects the bytes in memory (tests, fuzz seeds).
class BufferSink : public ByteSink {
 public:
  void Write(const void* data, size_t size) override;
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// Writes to `path` through a temporary file next to it that Commit() renames into place, so a
// failed or interrupted write never leaves a truncated file under the final name.
class FileSink : public ByteSink {
 public:
  explicit FileSink(std::string path);  // throws bitjit::Error if the file cannot be created
  ~FileSink() override;                 // removes the temporary file unless committed
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  void Write(const void* data, size_t size) override;
  void Commit();

 private:
  std::string path_;
  std::string temp_path_;
  FILE* file_ = nullptr;
  std::vector<char> buffer_;
};

struct PlannedTensor {
  std::string name;
  GgmlType type;
  std::vector<uint64_t> ne;  // ne[0] innermost
  uint64_t offset = 0;       // relative to the data section
  uint64_t n_bytes = 0;
};

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3, uint64_t alignment = 32);

  // Declaration phase. Both throw bitjit::Error on a duplicate, empty or non-UTF-8 key/name;
  // AddTensor also on 0 or more than 4 dims, a zero dim, or a shape the type cannot store.
  void AddKv(std::string key, KvValue value);
  // Copies key `key` from `file`; returns false (adding nothing) when the file lacks it.
  bool CopyKv(const GgufFile& file, std::string_view key);
  void AddTensor(std::string name, GgmlType type, std::vector<uint64_t> ne);

  size_t kv_count() const { return kvs_.size(); }
  const std::vector<PlannedTensor>& tensors() const { return tensors_; }
  uint64_t data_offset() const;  // start of the data section in the file
  uint64_t file_size() const;    // size of the whole file

  // Writing phase: the header, KVs and tensor infos, then every tensor's bytes in order.
  void WriteHeader(ByteSink& sink);
  // Appends to the current tensor; a chunk may not run past the tensor's end. When a tensor is
  // complete its padding is written and the next one starts.
  void WriteTensorData(std::span<const uint8_t> chunk);
  // Checks that every tensor was written in full.
  void Finish();

 private:
  uint64_t MetadataSize() const;

  uint32_t version_;
  uint64_t alignment_;
  std::vector<std::pair<std::string, KvValue>> kvs_;
  std::vector<PlannedTensor> tensors_;
  uint64_t data_size_ = 0;

  ByteSink* sink_ = nullptr;
  size_t current_ = 0;    // tensor being written
  uint64_t written_ = 0;  // bytes of it written so far
  bool finished_ = false;
};

}  // namespace bitjit::gguf
