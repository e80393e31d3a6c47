// libFuzzer target: GgufFile::FromBuffer on arbitrary bytes must either throw bitjit::Error or
// return a file whose every view lies inside the buffer; a file that parses is also run through
// ModelConfig::FromGguf. ASan/UBSan turn any out-of-bounds read, overflow or UB into a crash.
#include <cstddef>
#include <cstdint>
#include <span>

#include "frontend/gguf/gguf_file.h"
#include "frontend/i2s/i2s_codec.h"
#include "frontend/model/model_config.h"
#include "ir/base/error.h"

namespace {

volatile uint64_t g_sink;  // keeps the reads below from being optimized away

uint64_t Touch(std::span<const uint8_t> s) {
  return s.empty() ? 0 : s.front() + s.back();
}
uint64_t Touch(std::string_view s) {
  return s.empty() ? 0 : uint8_t(s.front()) + uint8_t(s.back());
}

uint64_t TouchValue(const bitjit::gguf::Value& v) {
  if (const auto* s = std::get_if<std::string_view>(&v.data)) return Touch(*s);
  if (const auto* a = std::get_if<std::shared_ptr<bitjit::gguf::Array>>(&v.data)) {
    uint64_t sum = Touch((*a)->raw);
    for (const bitjit::gguf::Value& item : (*a)->items) sum += TouchValue(item);
    return sum;
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bitjit;
  try {
    auto file = gguf::GgufFile::FromBuffer({data, size});
    uint64_t sum = 0;
    for (const gguf::KeyValue& kv : file->kvs()) sum += Touch(kv.key) + TouchValue(kv.value);
    for (const gguf::TensorInfo& t : file->tensors()) {
      sum += Touch(t.name) + Touch(t.data);
      if (t.ggml_type() == gguf::GgmlType::kI2_S) {
        sum += static_cast<uint64_t>(i2s::DecodeScale(t.data, t.n_elements()) != 0.0f);
      }
    }
    g_sink = sum;
    try {
      const ModelConfig config = ModelConfig::FromGguf(*file);
      g_sink = static_cast<uint64_t>(config.n_embd_kv());
    } catch (const Error&) {
    }
  } catch (const Error&) {
  }
  return 0;
}
