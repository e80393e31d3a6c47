#include "frontend/gguf/gguf_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "frontend/gguf/mapped_file.h"
#include "frontend/gguf/utf8.h"
#include "ir/base/error.h"
#include "ir/base/pages.h"

namespace bitjit::gguf {
namespace {

constexpr uint32_t kMaxDims = 4;
constexpr int kMaxArrayNesting = 8;  // deeper nesting only serves to exhaust the stack
constexpr uint64_t kMaxAlignment = 1u << 24;

// Bounds-checked little-endian reads over the mapped file. Every failure names the byte offset.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  uint64_t offset() const { return pos_; }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  template <typename T>
  T Read(const char* what) {
    Need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::span<const uint8_t> Take(uint64_t n, const char* what) {
    Need(n, what);
    auto s = bytes_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

  std::string_view ReadString(const char* what) {
    const uint64_t at = pos_;
    const uint64_t len = Read<uint64_t>(what);
    if (len > remaining()) {
      Fail("at byte ", at, ": ", what, " length ", len, " runs past the end of the file (",
           remaining(), " bytes left)");
    }
    auto s = Take(len, what);
    std::string_view sv(reinterpret_cast<const char*>(s.data()), s.size());
    if (!IsValidUtf8(sv)) Fail("at byte ", at, ": ", what, " is not valid UTF-8");
    return sv;
  }

 private:
  void Need(uint64_t n, const char* what) const {
    if (n > remaining()) {
      Fail("at byte ", pos_, ": file truncated while reading ", what, " (need ", n, " bytes, ",
           remaining(), " left)");
    }
  }

  std::span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
};

bool IsKnownValueType(uint32_t t) {
  return t <= 12;
}

Value ReadValue(Cursor& c, ValueType type, int depth);

Value ReadScalar(Cursor& c, ValueType type) {
  Value v;
  v.type = type;
  switch (type) {
    case ValueType::kU8:
      v.data = uint64_t{c.Read<uint8_t>("u8 value")};
      break;
    case ValueType::kI8:
      v.data = int64_t{c.Read<int8_t>("i8 value")};
      break;
    case ValueType::kU16:
      v.data = uint64_t{c.Read<uint16_t>("u16 value")};
      break;
    case ValueType::kI16:
      v.data = int64_t{c.Read<int16_t>("i16 value")};
      break;
    case ValueType::kU32:
      v.data = uint64_t{c.Read<uint32_t>("u32 value")};
      break;
    case ValueType::kI32:
      v.data = int64_t{c.Read<int32_t>("i32 value")};
      break;
    case ValueType::kU64:
      v.data = c.Read<uint64_t>("u64 value");
      break;
    case ValueType::kI64:
      v.data = c.Read<int64_t>("i64 value");
      break;
    case ValueType::kF32:
      v.data = double{c.Read<float>("f32 value")};
      break;
    case ValueType::kF64:
      v.data = c.Read<double>("f64 value");
      break;
    case ValueType::kBool: {
      const uint64_t at = c.offset();
      const uint8_t b = c.Read<uint8_t>("bool value");
      if (b > 1) Fail("at byte ", at, ": bool value is ", int{b}, ", not 0 or 1");
      v.data = uint64_t{b};
      break;
    }
    case ValueType::kString:
      v.data = c.ReadString("string value");
      break;
    default:
      Fail("at byte ", c.offset(), ": internal: not a scalar type");
  }
  return v;
}

Value ReadArray(Cursor& c, int depth) {
  const uint64_t at = c.offset();
  if (depth >= kMaxArrayNesting)
    Fail("at byte ", at, ": arrays nested deeper than ", kMaxArrayNesting);
  const uint32_t raw_type = c.Read<uint32_t>("array element type");
  if (!IsKnownValueType(raw_type)) Fail("at byte ", at, ": unknown array element type ", raw_type);
  auto array = std::make_shared<Array>();
  array->element_type = static_cast<ValueType>(raw_type);
  const uint64_t count_at = c.offset();
  array->count = c.Read<uint64_t>("array length");
  const uint64_t elem = ValueTypeWidth(array->element_type);
  // Every element takes at least one byte (strings: 8 for the length, arrays: 12).
  const uint64_t min_elem = elem ? elem : (array->element_type == ValueType::kString ? 8 : 12);
  if (array->count > c.remaining() / min_elem) {
    Fail("at byte ", count_at, ": array length ", array->count, " does not fit in the ",
         c.remaining(), " bytes left in the file");
  }
  if (elem) {
    array->raw = c.Take(array->count * elem, "array data");
    if (array->element_type == ValueType::kBool) {
      for (uint64_t i = 0; i < array->count; ++i)
        if (array->raw[i] > 1)
          Fail("at byte ", count_at + 8 + i, ": bool array element is not 0 or 1");
    }
  } else {
    array->items.reserve(array->count);
    for (uint64_t i = 0; i < array->count; ++i)
      array->items.push_back(ReadValue(c, array->element_type, depth + 1));
  }
  Value v;
  v.type = ValueType::kArray;
  v.data = std::move(array);
  return v;
}

Value ReadValue(Cursor& c, ValueType type, int depth) {
  return type == ValueType::kArray ? ReadArray(c, depth) : ReadScalar(c, type);
}

uint64_t AlignUp(uint64_t x, uint64_t a) {
  return (x + a - 1) / a * a;
}

}  // namespace

uint64_t ValueTypeWidth(ValueType type) {
  switch (type) {
    case ValueType::kU8:
    case ValueType::kI8:
    case ValueType::kBool:
      return 1;
    case ValueType::kU16:
    case ValueType::kI16:
      return 2;
    case ValueType::kU32:
    case ValueType::kI32:
    case ValueType::kF32:
      return 4;
    case ValueType::kU64:
    case ValueType::kI64:
    case ValueType::kF64:
      return 8;
    case ValueType::kString:
    case ValueType::kArray:
      return 0;
  }
  Fail("unknown GGUF value type ", static_cast<uint32_t>(type));
}

std::string_view ValueTypeName(ValueType type) {
  static constexpr const char* kNames[] = {"u8",   "i8",  "u16", "i16", "u32", "i32", "f32",
                                           "bool", "str", "arr", "u64", "i64", "f64"};
  const auto t = static_cast<uint32_t>(type);
  return t <= 12 ? kNames[t] : "?";
}

bool Value::IsInteger() const {
  return std::holds_alternative<uint64_t>(data) || std::holds_alternative<int64_t>(data);
}

uint64_t Value::AsU64(std::string_view what) const {
  if (auto* u = std::get_if<uint64_t>(&data)) return *u;
  if (auto* i = std::get_if<int64_t>(&data)) {
    if (*i < 0) Fail(what, " is negative (", *i, ")");
    return static_cast<uint64_t>(*i);
  }
  Fail(what, " has type ", ValueTypeName(type), ", expected an integer");
}

int64_t Value::AsI64(std::string_view what) const {
  if (auto* i = std::get_if<int64_t>(&data)) return *i;
  if (auto* u = std::get_if<uint64_t>(&data)) {
    if (*u > static_cast<uint64_t>(INT64_MAX)) Fail(what, " is too large (", *u, ")");
    return static_cast<int64_t>(*u);
  }
  Fail(what, " has type ", ValueTypeName(type), ", expected an integer");
}

double Value::AsF64(std::string_view what) const {
  if (auto* d = std::get_if<double>(&data)) return *d;
  if (auto* u = std::get_if<uint64_t>(&data)) return static_cast<double>(*u);
  if (auto* i = std::get_if<int64_t>(&data)) return static_cast<double>(*i);
  Fail(what, " has type ", ValueTypeName(type), ", expected a number");
}

std::string_view Value::AsString(std::string_view what) const {
  if (auto* s = std::get_if<std::string_view>(&data)) return *s;
  Fail(what, " has type ", ValueTypeName(type), ", expected a string");
}

const Array& Value::AsArray(std::string_view what) const {
  if (auto* a = std::get_if<std::shared_ptr<Array>>(&data)) return **a;
  Fail(what, " has type ", ValueTypeName(type), ", expected an array");
}

std::unique_ptr<GgufFile> GgufFile::Open(const std::string& path) {
  std::unique_ptr<MappedFile> mapping = MappedFile::Open(path);
  if (mapping->bytes().empty()) Fail(path, ": file is empty (not a GGUF file)");
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->path_ = path;
  file->bytes_ = mapping->bytes();
  file->mapping_ = std::move(mapping);
  try {
    file->Parse();
  } catch (const Error& e) {
    Fail(path, ": ", e.what());
  }
  return file;
}

std::unique_ptr<GgufFile> GgufFile::FromBuffer(std::span<const uint8_t> bytes) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->path_ = "<memory>";
  file->bytes_ = bytes;
  file->Parse();
  return file;
}

GgufFile::~GgufFile() = default;

void GgufFile::Parse() {
  Cursor c(bytes_);
  const auto magic = c.Take(4, "magic");
  if (std::memcmp(magic.data(), "GGUF", 4) != 0) Fail("at byte 0: bad magic (not a GGUF file)");
  version_ = c.Read<uint32_t>("version");
  if (version_ != 2 && version_ != 3) {
    Fail("at byte 4: unsupported GGUF version ", version_, " (bitjit reads versions 2 and 3)");
  }
  const uint64_t n_tensors = c.Read<uint64_t>("tensor count");
  const uint64_t n_kv = c.Read<uint64_t>("key-value count");
  // Each KV takes at least 12 bytes (key length + type), each tensor info at least 24.
  if (n_kv > c.remaining() / 12) {
    Fail("at byte 16: key-value count ", n_kv, " cannot fit in a file of ", bytes_.size(),
         " bytes");
  }
  if (n_tensors > c.remaining() / 24) {
    Fail("at byte 8: tensor count ", n_tensors, " cannot fit in a file of ", bytes_.size(),
         " bytes");
  }

  kvs_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    KeyValue kv;
    kv.offset = c.offset();
    kv.key = c.ReadString("key");
    if (kv.key.empty()) Fail("at byte ", kv.offset, ": empty key");
    const uint64_t type_at = c.offset();
    const uint32_t type = c.Read<uint32_t>("value type");
    if (!IsKnownValueType(type)) {
      Fail("at byte ", type_at, ": unknown value type ", type, " for key '", kv.key, "'");
    }
    kv.value = ReadValue(c, static_cast<ValueType>(type), 0);
    if (!kv_index_.emplace(kv.key, kvs_.size()).second) {
      Fail("at byte ", kv.offset, ": duplicate key '", kv.key, "'");
    }
    kvs_.push_back(std::move(kv));
  }

  if (const Value* a = Find("general.alignment")) {
    if (a->type != ValueType::kU32) {
      Fail("general.alignment has type ", ValueTypeName(a->type), ", expected u32");
    }
    alignment_ = a->AsU64("general.alignment");
    if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0 || alignment_ > kMaxAlignment) {
      Fail("general.alignment is ", alignment_, ", expected a power of two");
    }
  }

  tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t;
    t.info_offset = c.offset();
    t.name = c.ReadString("tensor name");
    if (t.name.empty()) Fail("at byte ", t.info_offset, ": empty tensor name");
    const uint64_t dims_at = c.offset();
    t.n_dims = c.Read<uint32_t>("tensor n_dims");
    if (t.n_dims == 0 || t.n_dims > kMaxDims) {
      Fail("at byte ", dims_at, ": tensor '", t.name, "' has n_dims ", t.n_dims, " (must be 1..",
           kMaxDims, ")");
    }
    uint64_t n = 1;
    for (uint32_t d = 0; d < t.n_dims; ++d) {
      const uint64_t at = c.offset();
      t.ne[d] = c.Read<uint64_t>("tensor dimension");
      if (t.ne[d] == 0) Fail("at byte ", at, ": tensor '", t.name, "' has a zero-size dimension");
      if (t.ne[d] > (uint64_t{1} << 62) || __builtin_mul_overflow(n, t.ne[d], &n) ||
          n > (uint64_t{1} << 62)) {
        Fail("at byte ", at, ": tensor '", t.name, "' has an impossibly large shape");
      }
    }
    const uint64_t type_at = c.offset();
    t.type = c.Read<uint32_t>("tensor type");
    const auto type_name = GgmlTypeName(t.type);
    if (!type_name) Fail("at byte ", type_at, ": tensor '", t.name, "' has unknown type ", t.type);
    const auto bytes = GgmlTensorBytes(t.type, t.ne[0], n);
    if (!bytes && GgmlBlockSize(t.type) == 0) {
      // TL1/TL2: bitnet.cpp's lookup-table layouts, generated per model and CPU (setup_env.py
      // -q tl1|tl2); their size is known only to the kernels written with them.
      Fail("at byte ", type_at, ": tensor '", t.name, "' has type ", *type_name,
           ", a bitnet.cpp lookup-table layout that bitjit does not read; use the model's I2_S "
           "file (setup_env.py -q i2_s, or `bitjit quantize` on its F32/F16 GGUF)");
    }
    if (!bytes) {
      Fail("at byte ", type_at, ": tensor '", t.name, "' of type ", *type_name, " with ", n,
           " elements (ne[0] = ", t.ne[0], ") has no valid size (block size ",
           GgmlBlockSize(t.type), ")");
    }
    t.n_bytes = *bytes;
    const uint64_t off_at = c.offset();
    t.offset = c.Read<uint64_t>("tensor offset");
    if (t.offset % alignment_ != 0) {
      Fail("at byte ", off_at, ": tensor '", t.name, "' offset ", t.offset,
           " is not a multiple of the alignment ", alignment_);
    }
    if (!tensor_index_.emplace(t.name, tensors_.size()).second) {
      Fail("at byte ", t.info_offset, ": duplicate tensor name '", t.name, "'");
    }
    tensors_.push_back(t);
  }

  data_offset_ = AlignUp(c.offset(), alignment_);
  if (tensors_.empty()) return;
  if (data_offset_ > bytes_.size()) {
    Fail("at byte ", c.offset(), ": file ends before the data section (", bytes_.size(), " bytes)");
  }
  const uint64_t data_size = bytes_.size() - data_offset_;
  for (TensorInfo& t : tensors_) {
    if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
      Fail("at byte ", t.info_offset, ": tensor '", t.name, "' data (offset ", t.offset, ", ",
           t.n_bytes, " bytes, after the data section start ", data_offset_,
           ") runs past the end of the file (", bytes_.size(), " bytes)");
    }
    t.data = bytes_.subspan(data_offset_ + t.offset, t.n_bytes);
  }
  std::vector<const TensorInfo*> by_offset;
  for (const TensorInfo& t : tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1];
    const TensorInfo& cur = *by_offset[i];
    if (prev.offset + prev.n_bytes > cur.offset) {
      Fail("at byte ", cur.info_offset, ": tensor '", cur.name, "' data overlaps tensor '",
           prev.name, "'");
    }
  }
}

void GgufFile::ReleasePages(std::span<const uint8_t> range) const {
  if (mapping_ == nullptr || range.empty()) return;  // in-memory files have nothing to drop
  DropWholePages(range.data(), range.size());
}

const Value* GgufFile::Find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const TensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {
const Value& Require(const GgufFile& f, std::string_view key) {
  const Value* v = f.Find(key);
  if (v == nullptr) Fail("missing key ", key);
  return *v;
}
}  // namespace

uint64_t GgufFile::GetU64(std::string_view key) const {
  return Require(*this, key).AsU64(key);
}
double GgufFile::GetF64(std::string_view key) const {
  return Require(*this, key).AsF64(key);
}
std::string_view GgufFile::GetString(std::string_view key) const {
  return Require(*this, key).AsString(key);
}
const Array& GgufFile::GetArray(std::string_view key) const {
  return Require(*this, key).AsArray(key);
}

bool GgufFile::GetBool(std::string_view key) const {
  const Value& v = Require(*this, key);
  if (v.type != ValueType::kBool) {
    Fail("key ", key, " has type ", ValueTypeName(v.type), ", expected bool");
  }
  return v.AsU64(key) != 0;
}

std::vector<std::string_view> GgufFile::GetStringArray(std::string_view key) const {
  const Array& a = GetArray(key);
  if (a.element_type != ValueType::kString) {
    Fail("key ", key, " is an array of ", ValueTypeName(a.element_type), ", expected strings");
  }
  std::vector<std::string_view> out;
  out.reserve(a.items.size());
  for (const Value& v : a.items) out.push_back(std::get<std::string_view>(v.data));
  return out;
}

}  // namespace bitjit::gguf
