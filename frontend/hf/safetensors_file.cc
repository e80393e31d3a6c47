#include "frontend/hf/safetensors_file.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "frontend/gguf/mapped_file.h"
#include "frontend/hf/bounded_json.h"
#include "ir/base/error.h"
#include "ir/base/half.h"

namespace bitjit::hf {
namespace {

using nlohmann::json;

// A header is {name: {dtype, shape, data_offsets}}: three levels; __metadata__ is flat.
constexpr int kMaxHeaderDepth = 3;
constexpr size_t kMaxDims = 8;
constexpr uint64_t kMaxDim = uint64_t{1} << 40;

struct DtypeInfo {
  const char* name;
  Dtype dtype;
  uint64_t bytes;
};
constexpr DtypeInfo kDtypes[] = {
    {"F64", Dtype::kF64, 8},   {"F32", Dtype::kF32, 4}, {"F16", Dtype::kF16, 2},
    {"BF16", Dtype::kBF16, 2}, {"I64", Dtype::kI64, 8}, {"I32", Dtype::kI32, 4},
    {"I16", Dtype::kI16, 2},   {"I8", Dtype::kI8, 1},   {"U8", Dtype::kU8, 1},
    {"BOOL", Dtype::kBool, 1},
};

uint64_t ReadU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A JSON number that is a non-negative integer below `limit`.
uint64_t Unsigned(const json& v, uint64_t limit, const std::string& what) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    Fail(what, " is not a non-negative integer");
  }
  const uint64_t x = v.get<uint64_t>();
  if (x > limit) Fail(what, " ", x, " is out of range (at most ", limit, ")");
  return x;
}

}  // namespace

std::string_view DtypeName(Dtype dtype) {
  for (const DtypeInfo& d : kDtypes)
    if (d.dtype == dtype) return d.name;
  return "?";
}

uint64_t DtypeBytes(Dtype dtype) {
  for (const DtypeInfo& d : kDtypes)
    if (d.dtype == dtype) return d.bytes;
  return 0;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::Open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->mapping_ = gguf::MappedFile::Open(path);
  file->path_ = path;
  file->bytes_ = file->mapping_->bytes();
  file->Parse();
  return file;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::FromBuffer(std::span<const uint8_t> bytes,
                                                             std::string name) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = std::move(name);
  file->bytes_ = bytes;
  file->Parse();
  return file;
}

SafetensorsFile::~SafetensorsFile() = default;

const SafetensorsTensor* SafetensorsFile::Find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::Parse() {
  const std::string& f = path_;
  if (bytes_.size() < 8) Fail(f, ": ", bytes_.size(), " bytes, too short for a safetensors header");
  const uint64_t header_bytes = ReadU64(bytes_.data());
  if (header_bytes < 2 || header_bytes > kMaxHeaderBytes) {
    Fail(f, ": header length ", header_bytes, " is out of range (2 to ", kMaxHeaderBytes,
         "): not a safetensors file");
  }
  if (header_bytes > bytes_.size() - 8) {
    Fail(f, ": the ", header_bytes, "-byte header runs past the end of the file (", bytes_.size(),
         " bytes): truncated?");
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes_.data() + 8), header_bytes);
  // Duplicate names: nlohmann keeps the last silently, so the keys are counted as they parse.
  std::unordered_set<std::string> seen;
  std::string duplicate;
  const json header =
      ParseBoundedJson(text, kMaxHeaderDepth, f + ": header", [&](const std::string& key) {
        if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
      });
  if (!duplicate.empty()) Fail(f, ": tensor '", duplicate, "' appears twice in the header");
  if (!header.is_object()) Fail(f, ": header is not a JSON object");

  const uint64_t data_start = 8 + header_bytes, data_size = bytes_.size() - data_start;
  struct Range {
    uint64_t begin, end;
    size_t tensor;
  };
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) Fail(f, ": __metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) Fail(f, ": __metadata__ value '", k, "' is not a string");
      }
      continue;
    }
    const std::string what = f + ": tensor '" + name + "'";
    if (!entry.is_object()) Fail(what, " is not an object");
    const auto dtype_it = entry.find("dtype");
    const auto shape_it = entry.find("shape");
    const auto offsets_it = entry.find("data_offsets");
    if (dtype_it == entry.end() || shape_it == entry.end() || offsets_it == entry.end()) {
      Fail(what, " lacks dtype, shape or data_offsets");
    }
    SafetensorsTensor t;
    t.name = name;
    if (!dtype_it->is_string()) Fail(what, ": dtype is not a string");
    const std::string dtype = dtype_it->get<std::string>();
    const DtypeInfo* info = nullptr;
    for (const DtypeInfo& d : kDtypes)
      if (dtype == d.name) info = &d;
    if (info == nullptr) Fail(what, ": dtype '", dtype.substr(0, 16), "' is not supported");
    t.dtype = info->dtype;
    if (!shape_it->is_array() || shape_it->size() > kMaxDims) {
      Fail(what, ": shape is not an array of at most ", kMaxDims, " dims");
    }
    for (const json& d : *shape_it) {
      const uint64_t dim = Unsigned(d, kMaxDim, what + ": a dim");
      // n * dim * 8 must not overflow: both are below 2^40, so check against 2^60 / dim.
      if (dim != 0 && t.n_elements > (uint64_t{1} << 60) / dim) Fail(what, ": shape overflows");
      t.n_elements *= dim;
      t.shape.push_back(dim);
    }
    if (!offsets_it->is_array() || offsets_it->size() != 2) {
      Fail(what, ": data_offsets is not [begin, end]");
    }
    const uint64_t begin = Unsigned((*offsets_it)[0], data_size, what + ": data begin");
    const uint64_t end = Unsigned((*offsets_it)[1], data_size, what + ": data end");
    if (end < begin) Fail(what, ": data_offsets end ", end, " is before begin ", begin);
    if (end - begin != t.n_elements * info->bytes) {
      Fail(what, ": ", end - begin, " data bytes for ", t.n_elements, " ", dtype, " values");
    }
    t.data = bytes_.subspan(data_start + begin, end - begin);
    ranges.push_back({begin, end, tensors_.size()});
    tensors_.push_back(std::move(t));
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin < ranges[i - 1].end) {
      Fail(f, ": tensors '", tensors_[ranges[i - 1].tensor].name, "' and '",
           tensors_[ranges[i].tensor].name, "' overlap");
    }
  }
  for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

std::vector<float> ToFloats(const SafetensorsTensor& t) {
  std::vector<float> out(t.n_elements);
  // A tensor with a 0 dimension has no data: memcpy of 0 bytes to a vector's null data is still
  // undefined behaviour (fuzz/safetensors_fuzz found it).
  if (out.empty() && t.dtype == Dtype::kF32) return out;
  const uint8_t* p = t.data.data();
  switch (t.dtype) {
    case Dtype::kF32:
      std::memcpy(out.data(), p, out.size() * 4);
      break;
    case Dtype::kF16:
      for (size_t i = 0; i < out.size(); ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = HalfToFloat(h);
      }
      break;
    case Dtype::kBF16:
      for (size_t i = 0; i < out.size(); ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        const uint32_t bits = uint32_t{h} << 16;
        std::memcpy(&out[i], &bits, 4);
      }
      break;
    default:
      Fail("tensor '", t.name, "' has dtype ", DtypeName(t.dtype),
           ", expected F32, F16 or BF16 weights");
  }
  return out;
}

}  // namespace bitjit::hf
