#include "tools/i2s_quantizer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "frontend/gguf/gguf_file.h"
#include "frontend/gguf/gguf_writer.h"
#include "frontend/i2s/i2s_codec.h"
#include "ir/base/error.h"
#include "ir/base/half.h"
#include "tools/flags.h"
#include "tools/q6k_fused_quantize.h"

namespace bitjit::cli {
namespace {

using gguf::GgmlType;

constexpr uint32_t kFileTypeI2S = 40;         // llama_ftype LLAMA_FTYPE_MOSTLY_I2_S
constexpr uint32_t kQuantizationVersion = 2;  // GGML_QNT_VERSION

// ggml_n_dims: the dimensions up to the last one above 1.
int Dims(const gguf::TensorInfo& t) {
  for (int d = 3; d >= 1; --d)
    if (t.ne[d] > 1) return d + 1;
  return 1;
}

GgmlType TargetType(const gguf::TensorInfo& t, GgmlType token_embedding_type) {
  const std::string_view name = t.name;
  const bool weight = name.ends_with("weight");
  if (!weight || Dims(t) < 2) return static_cast<GgmlType>(t.type);  // copied as it is
  // llama-quantize's I2_S ftype: F16 when the rows fill whole 256-value super-blocks, else Q8_0
  // (../shared/golden-more/README.md).
  if (name == "output.weight") return t.ne[0] % 256 == 0 ? GgmlType::kF16 : GgmlType::kQ8_0;
  if (name == "token_embd.weight") return token_embedding_type;
  return GgmlType::kI2_S;
}

float BF16ToFloat(uint16_t v) {
  const uint32_t bits = uint32_t{v} << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

std::vector<float> AsFloats(const gguf::TensorInfo& t) {
  const uint64_t n = t.n_elements();
  std::vector<float> out(n);
  switch (static_cast<GgmlType>(t.type)) {
    case GgmlType::kF32:
      std::memcpy(out.data(), t.data.data(), n * sizeof(float));
      break;
    case GgmlType::kF16:
    case GgmlType::kBF16: {
      const bool bf16 = static_cast<GgmlType>(t.type) == GgmlType::kBF16;
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, t.data.data() + 2 * i, 2);
        out[i] = bf16 ? BF16ToFloat(v) : HalfToFloat(v);
      }
      break;
    }
    default:
      Fail("tensor ", t.name, " is ", gguf::GgmlTypeName(t.type).value_or("of an unknown type"),
           ": llama-quantize to I2_S reads F32, F16 or BF16 sources");
  }
  return out;
}

// ggml's quantize_row_q8_0_ref: blocks of 32 values, d = max|x| / 127 (as F16), q = round(x/d)
// half away from zero.
void QuantizeRowQ8_0(const float* x, uint64_t n, uint8_t* out) {
  for (uint64_t b = 0; b < n / 32; ++b, x += 32, out += 34) {
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    const uint16_t dh = FloatToHalf(d);
    std::memcpy(out, &dh, 2);
    for (int i = 0; i < 32; ++i)
      out[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(std::roundf(x[i] * id)));
  }
}

// Quantizes `x` into the front of `work` and returns the bytes written. llama-quantize reuses
// one work buffer for every tensor and I2_S writes only the packed weights and the scale of its
// 32-byte trailer: the trailer's other 28 bytes are what the buffer held there, which the
// output file keeps. The buffer is modelled the same way (it grows zero-filled, as fresh pages
// from the allocator are) so that those bytes come out the same.
uint64_t Quantize(const std::vector<float>& x, GgmlType type, uint64_t ne0,
                  std::vector<uint8_t>* work) {
  const uint64_t n = x.size();
  if (work->size() < n * 4) work->resize(n * 4);
  uint8_t* out = work->data();
  switch (type) {
    case GgmlType::kI2_S: {
      const i2s::Quantized q = i2s::QuantizeTernarized(x);
      i2s::PackWeights(q.weights, out);
      std::memcpy(out + n / 4, &q.scale, sizeof q.scale);
      return i2s::TensorBytes(n);
    }
    case GgmlType::kF16:
      for (uint64_t i = 0; i < n; ++i) {
        const uint16_t h = FloatToHalf(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return 2 * n;
    case GgmlType::kQ8_0:
      if (ne0 % 32 != 0) Fail("Q8_0 needs rows of a multiple of 32 values (got ", ne0, ")");
      QuantizeRowQ8_0(x.data(), n, out);
      return n / 32 * 34;
    case GgmlType::kQ6_K:
      if (ne0 % 256 != 0) Fail("Q6_K needs rows of a multiple of 256 values (got ", ne0, ")");
      QuantizeRowQ6_KFused(x.data(), static_cast<int64_t>(n), out);
      return n / 256 * 210;
    default:
      Fail("cannot write type ", gguf::GgmlTypeName(static_cast<uint32_t>(type)).value_or("?"));
  }
}

}  // namespace

QuantizeSummary QuantizeToI2S(const std::string& in_path, const std::string& out_path,
                              GgmlType token_embedding_type) {
  const auto in = gguf::GgufFile::Open(in_path);
  gguf::GgufWriter writer(in->version(), in->alignment());
  bool has_version = false;
  for (const gguf::KeyValue& kv : in->kvs()) {
    if (kv.key == "general.file_type") {
      writer.AddKv(std::string(kv.key), gguf::KvValue::U32(kFileTypeI2S));
    } else if (kv.key == "general.quantization_version") {
      has_version = true;
      writer.AddKv(std::string(kv.key), gguf::KvValue::U32(kQuantizationVersion));
    } else {
      writer.AddKv(std::string(kv.key), gguf::KvValue::FromFile(kv.value));
    }
  }
  if (in->Find("general.file_type") == nullptr) {
    writer.AddKv("general.file_type", gguf::KvValue::U32(kFileTypeI2S));
  }
  if (!has_version) {
    writer.AddKv("general.quantization_version", gguf::KvValue::U32(kQuantizationVersion));
  }
  for (const gguf::TensorInfo& t : in->tensors()) {
    writer.AddTensor(std::string(t.name), TargetType(t, token_embedding_type),
                     std::vector<uint64_t>(t.ne, t.ne + std::max<uint32_t>(t.n_dims, 1)));
  }
  gguf::FileSink sink(out_path);
  writer.WriteHeader(sink);
  QuantizeSummary summary;
  std::vector<uint8_t> work;
  for (const gguf::TensorInfo& t : in->tensors()) {
    const GgmlType target = TargetType(t, token_embedding_type);
    summary.in_bytes += t.n_bytes;
    if (target == static_cast<GgmlType>(t.type)) {
      writer.WriteTensorData(t.data.subspan(0, t.n_bytes));
      summary.out_bytes += t.n_bytes;
      ++summary.n_copied;
      continue;
    }
    const uint64_t bytes = Quantize(AsFloats(t), target, t.ne[0], &work);
    writer.WriteTensorData(std::span<const uint8_t>(work.data(), bytes));
    summary.out_bytes += bytes;
    ++summary.n_quantized;
  }
  writer.Finish();
  sink.Commit();
  return summary;
}

gguf::GgmlType ParseTokenEmbeddingType(const std::string& name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "f16") return gguf::GgmlType::kF16;
  if (lower == "q8_0") return gguf::GgmlType::kQ8_0;
  if (lower == "q6_k") return gguf::GgmlType::kQ6_K;
  Fail("--token-embedding-type ", name, ": expected f16, q8_0 or q6_k");
}

void PrintQuantizeSummary(const std::string& out_path, const QuantizeSummary& s) {
  if (FLAGS_quiet) return;
  std::fprintf(stderr, "wrote %s: %d tensors quantized, %d copied; %.2f MiB -> %.2f MiB\n",
               out_path.c_str(), s.n_quantized, s.n_copied, s.in_bytes / 1048576.0,
               s.out_bytes / 1048576.0);
}

}  // namespace bitjit::cli
