#include "frontend/gguf/gguf_writer.h"

#include <glog/logging.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "frontend/gguf/utf8.h"
#include "ir/base/error.h"
#include "ir/base/output_path.h"

namespace bitjit::gguf {
namespace {

template <typename T>
void Append(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);  // x86: little-endian
}

void AppendString(std::string& out, std::string_view s) {
  if (!IsValidUtf8(s)) Fail("GGUF string is not valid UTF-8");
  Append<uint64_t>(out, s.size());
  out.append(s);
}

// Header and raw little-endian elements of a fixed-size array.
std::string ArrayEncoding(ValueType element_type, uint64_t count, const void* data,
                          size_t n_bytes) {
  std::string out;
  Append<uint32_t>(out, static_cast<uint32_t>(element_type));
  Append<uint64_t>(out, count);
  out.append(static_cast<const char*>(data), n_bytes);
  return out;
}

template <typename T>
std::string ArrayEncoding(ValueType element_type, std::span<const T> values) {
  return ArrayEncoding(element_type, values.size(), values.data(), values.size_bytes());
}

// The number held by a parsed scalar, whichever representation the reader chose for it.
template <typename T>
T Number(const Value& value) {
  if (const auto* u = std::get_if<uint64_t>(&value.data)) return static_cast<T>(*u);
  if (const auto* i = std::get_if<int64_t>(&value.data)) return static_cast<T>(*i);
  if (const auto* d = std::get_if<double>(&value.data)) return static_cast<T>(*d);
  Fail("GGUF value of type ", ValueTypeName(value.type), " holds no number");
}

uint64_t AlignUp(uint64_t x, uint64_t alignment) {
  return (x + alignment - 1) / alignment * alignment;
}

}  // namespace

// --- KvValue --------------------------------------------------------------------------------

#define BITJIT_SCALAR(Name, T, kind)               \
  KvValue KvValue::Name(T v) {                     \
    std::string e;                                 \
    Append<T>(e, v);                               \
    return KvValue(ValueType::kind, std::move(e)); \
  }
BITJIT_SCALAR(U8, uint8_t, kU8)
BITJIT_SCALAR(I8, int8_t, kI8)
BITJIT_SCALAR(U16, uint16_t, kU16)
BITJIT_SCALAR(I16, int16_t, kI16)
BITJIT_SCALAR(U32, uint32_t, kU32)
BITJIT_SCALAR(I32, int32_t, kI32)
BITJIT_SCALAR(F32, float, kF32)
BITJIT_SCALAR(U64, uint64_t, kU64)
BITJIT_SCALAR(I64, int64_t, kI64)
BITJIT_SCALAR(F64, double, kF64)
#undef BITJIT_SCALAR

KvValue KvValue::Bool(bool v) {
  return KvValue(ValueType::kBool, std::string(1, v ? 1 : 0));
}

KvValue KvValue::String(std::string_view v) {
  std::string e;
  AppendString(e, v);
  return KvValue(ValueType::kString, std::move(e));
}

KvValue KvValue::U8Array(std::span<const uint8_t> v, ValueType element_type) {
  CHECK(ValueTypeWidth(element_type) == 1) << "U8Array of a wider element type";
  return KvValue(ValueType::kArray, ArrayEncoding(element_type, v));
}
KvValue KvValue::I32Array(std::span<const int32_t> v) {
  return KvValue(ValueType::kArray, ArrayEncoding(ValueType::kI32, v));
}
KvValue KvValue::U32Array(std::span<const uint32_t> v) {
  return KvValue(ValueType::kArray, ArrayEncoding(ValueType::kU32, v));
}
KvValue KvValue::F32Array(std::span<const float> v) {
  return KvValue(ValueType::kArray, ArrayEncoding(ValueType::kF32, v));
}
KvValue KvValue::I64Array(std::span<const int64_t> v) {
  return KvValue(ValueType::kArray, ArrayEncoding(ValueType::kI64, v));
}
KvValue KvValue::F64Array(std::span<const double> v) {
  return KvValue(ValueType::kArray, ArrayEncoding(ValueType::kF64, v));
}

template <typename S>
static std::string StringArrayEncoding(std::span<const S> v) {
  std::string e;
  size_t total = 12;
  for (const auto& s : v) total += 8 + s.size();
  e.reserve(total);
  Append<uint32_t>(e, static_cast<uint32_t>(ValueType::kString));
  Append<uint64_t>(e, v.size());
  for (const auto& s : v) AppendString(e, s);
  return e;
}
KvValue KvValue::StringArray(std::span<const std::string> v) {
  return KvValue(ValueType::kArray, StringArrayEncoding(v));
}
KvValue KvValue::StringArray(std::span<const std::string_view> v) {
  return KvValue(ValueType::kArray, StringArrayEncoding(v));
}

KvValue KvValue::Array(ValueType element_type, std::span<const KvValue> items) {
  std::string e;
  Append<uint32_t>(e, static_cast<uint32_t>(element_type));
  Append<uint64_t>(e, items.size());
  for (const KvValue& item : items) {
    CHECK(item.type_ == element_type) << "array item of type " << ValueTypeName(item.type_)
                                      << " in an array of " << ValueTypeName(element_type);
    e += item.encoding_;  // a nested array's encoding starts with its own type and count
  }
  return KvValue(ValueType::kArray, std::move(e));
}

KvValue KvValue::FromFile(const Value& value) {
  switch (value.type) {
    case ValueType::kU8:
      return U8(Number<uint8_t>(value));
    case ValueType::kI8:
      return I8(Number<int8_t>(value));
    case ValueType::kU16:
      return U16(Number<uint16_t>(value));
    case ValueType::kI16:
      return I16(Number<int16_t>(value));
    case ValueType::kU32:
      return U32(Number<uint32_t>(value));
    case ValueType::kI32:
      return I32(Number<int32_t>(value));
    case ValueType::kF32:
      return F32(Number<float>(value));
    case ValueType::kBool:
      return Bool(Number<uint64_t>(value) != 0);
    case ValueType::kU64:
      return U64(Number<uint64_t>(value));
    case ValueType::kI64:
      return I64(Number<int64_t>(value));
    case ValueType::kF64:
      return F64(Number<double>(value));
    case ValueType::kString:
      return String(value.AsString("value"));
    case ValueType::kArray:
      return FromFileArray(value.AsArray("value"));
  }
  Fail("unknown GGUF value type ", static_cast<uint32_t>(value.type));
}

KvValue KvValue::FromFileArray(const gguf::Array& array) {
  if (const uint64_t width = ValueTypeWidth(array.element_type); width != 0) {
    if (array.raw.size() != array.count * width) {
      Fail("array of ", array.count, " ", ValueTypeName(array.element_type), " holds ",
           array.raw.size(), " bytes");
    }
    return KvValue(ValueType::kArray, ArrayEncoding(array.element_type, array.count,
                                                    array.raw.data(), array.raw.size()));
  }
  std::vector<KvValue> items;
  items.reserve(array.items.size());
  for (const Value& item : array.items) items.push_back(FromFile(item));
  return Array(array.element_type, items);
}

// --- Sinks ----------------------------------------------------------------------------------

void BufferSink::Write(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  bytes_.insert(bytes_.end(), p, p + size);
}

FileSink::FileSink(std::string path)
    : path_(std::move(path)),
      temp_path_(path_ + ".partial-" + std::to_string(::getpid())),
      buffer_(4 << 20) {
  CheckOutputPath(path_);  // before anything is written: fail fast
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (file_ == nullptr) Fail("cannot create ", temp_path_, ": ", std::strerror(errno));
  std::setvbuf(file_, buffer_.data(), _IOFBF, buffer_.size());
}

FileSink::~FileSink() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(temp_path_.c_str());
  }
}

void FileSink::Write(const void* data, size_t size) {
  CHECK(file_ != nullptr) << "write after Commit";
  if (std::fwrite(data, 1, size, file_) != size) {
    Fail("cannot write ", temp_path_, ": ", std::strerror(errno));
  }
}

void FileSink::Commit() {
  CHECK(file_ != nullptr) << "Commit twice";
  const bool ok = std::fflush(file_) == 0 && !std::ferror(file_);
  const int saved = errno;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed) {
    std::remove(temp_path_.c_str());
    Fail("cannot write ", temp_path_, ": ", std::strerror(ok ? errno : saved));
  }
  try {
    CheckOutputPath(path_);  // again: something may have appeared there while we wrote
  } catch (const Error&) {
    std::remove(temp_path_.c_str());
    throw;
  }
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    std::remove(temp_path_.c_str());
    Fail("cannot rename ", temp_path_, " to ", path_, ": ", std::strerror(e));
  }
}

// --- GgufWriter -----------------------------------------------------------------------------

GgufWriter::GgufWriter(uint32_t version, uint64_t alignment)
    : version_(version), alignment_(alignment) {
  CHECK(alignment_ > 0 && (alignment_ & (alignment_ - 1)) == 0) << "alignment " << alignment_;
}

void GgufWriter::AddKv(std::string key, KvValue value) {
  CHECK(sink_ == nullptr) << "AddKv after WriteHeader";
  if (key.empty()) Fail("GGUF key is empty");
  if (!IsValidUtf8(key)) Fail("GGUF key is not valid UTF-8");
  for (const auto& kv : kvs_)
    if (kv.first == key) Fail("duplicate GGUF key ", key);
  kvs_.emplace_back(std::move(key), std::move(value));
}

bool GgufWriter::CopyKv(const GgufFile& file, std::string_view key) {
  const Value* value = file.Find(key);
  if (value == nullptr) return false;
  AddKv(std::string(key), KvValue::FromFile(*value));
  return true;
}

void GgufWriter::AddTensor(std::string name, GgmlType type, std::vector<uint64_t> ne) {
  CHECK(sink_ == nullptr) << "AddTensor after WriteHeader";
  if (name.empty()) Fail("tensor name is empty");
  if (!IsValidUtf8(name)) Fail("tensor name is not valid UTF-8");
  for (const PlannedTensor& t : tensors_)
    if (t.name == name) Fail("duplicate tensor name ", name);
  if (ne.empty() || ne.size() > 4) Fail("tensor ", name, " has ", ne.size(), " dims (1 to 4)");
  uint64_t n = 1;
  for (uint64_t d : ne) {
    if (d == 0) Fail("tensor ", name, " has a zero dim");
    if (__builtin_mul_overflow(n, d, &n)) Fail("tensor ", name, " is too large");
  }
  const auto n_bytes = GgmlTensorBytes(static_cast<uint32_t>(type), ne[0], n);
  if (!n_bytes) {
    Fail("tensor ", name, ": type ", static_cast<uint32_t>(type), " cannot store ", n,
         " elements with ne[0] = ", ne[0]);
  }
  PlannedTensor t{std::move(name), type, std::move(ne), data_size_, *n_bytes};
  data_size_ = AlignUp(data_size_ + t.n_bytes, alignment_);
  tensors_.push_back(std::move(t));
}

uint64_t GgufWriter::MetadataSize() const {
  uint64_t size = 4 + 4 + 8 + 8;
  for (const auto& [key, value] : kvs_) size += 8 + key.size() + 4 + value.encoding().size();
  for (const PlannedTensor& t : tensors_) size += 8 + t.name.size() + 4 + 8 * t.ne.size() + 4 + 8;
  return size;
}

uint64_t GgufWriter::data_offset() const {
  return AlignUp(MetadataSize(), alignment_);
}
uint64_t GgufWriter::file_size() const {
  return data_offset() + data_size_;
}

void GgufWriter::WriteHeader(ByteSink& sink) {
  CHECK(sink_ == nullptr) << "WriteHeader twice";
  sink_ = &sink;
  std::string out;
  out.reserve(MetadataSize() + alignment_);
  out.append("GGUF", 4);
  Append<uint32_t>(out, version_);
  Append<uint64_t>(out, tensors_.size());
  Append<uint64_t>(out, kvs_.size());
  for (const auto& [key, value] : kvs_) {
    AppendString(out, key);
    Append<uint32_t>(out, static_cast<uint32_t>(value.type()));
    out += value.encoding();
  }
  for (const PlannedTensor& t : tensors_) {
    AppendString(out, t.name);
    Append<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) Append<uint64_t>(out, d);
    Append<uint32_t>(out, static_cast<uint32_t>(t.type));
    Append<uint64_t>(out, t.offset);
  }
  out.resize(AlignUp(out.size(), alignment_), '\0');
  sink_->Write(out.data(), out.size());
}

void GgufWriter::WriteTensorData(std::span<const uint8_t> chunk) {
  CHECK(sink_ != nullptr) << "WriteTensorData before WriteHeader";
  if (chunk.empty()) return;
  CHECK(current_ < tensors_.size()) << "more tensor data than declared";
  const PlannedTensor& t = tensors_[current_];
  CHECK(chunk.size() <= t.n_bytes - written_) << "chunk runs past the end of tensor " << t.name;
  sink_->Write(chunk.data(), chunk.size());
  written_ += chunk.size();
  if (written_ < t.n_bytes) return;
  static const uint8_t kZeros[256] = {};
  for (uint64_t pad = AlignUp(t.n_bytes, alignment_) - t.n_bytes; pad > 0;) {
    const uint64_t n = std::min<uint64_t>(pad, sizeof kZeros);
    sink_->Write(kZeros, n);
    pad -= n;
  }
  ++current_;
  written_ = 0;
}

void GgufWriter::Finish() {
  CHECK(sink_ != nullptr) << "Finish before WriteHeader";
  CHECK(!finished_) << "Finish twice";
  CHECK(current_ == tensors_.size())
      << "tensor " << (current_ < tensors_.size() ? tensors_[current_].name : "") << " incomplete";
  finished_ = true;
}

}  // namespace bitjit::gguf
