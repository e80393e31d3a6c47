#include "frontend/lowering/tensor_constant.h"

#include <cstring>

#include "ir/base/error.h"

namespace bitjit {

TensorConstant MakeTensorConstant(const gguf::GgufFile& file, const std::string& name) {
  const gguf::TensorInfo* t = file.FindTensor(name);
  if (t == nullptr) Fail("missing tensor ", name);
  ir::ConstantData data{name, t->data.data(), t->n_bytes, 1.0f};
  const auto ne0 = static_cast<int64_t>(t->ne[0]), ne1 = static_cast<int64_t>(t->ne[1]);
  switch (t->ggml_type()) {
    case gguf::GgmlType::kF32:
      return {ir::DType::kF32, ir::Shape{ne0}, data};
    case gguf::GgmlType::kF16:
      return {ir::DType::kF16, ir::Shape{ne1, ne0}, data};
    case gguf::GgmlType::kQ8_0:
      return {ir::DType::kQ8_0, ir::Shape{ne1, ne0}, data};
    case gguf::GgmlType::kQ6_K:
      return {ir::DType::kQ6_K, ir::Shape{ne1, ne0}, data};
    case gguf::GgmlType::kI2_S: {
      const uint64_t packed = t->n_elements() / 4;
      std::memcpy(&data.scale, t->data.data() + packed, sizeof(float));
      data.n_bytes = packed;
      if (!(data.scale >= 0.0f) || data.scale > 1e30f) {
        Fail("tensor ", name, " has an invalid I2_S scale ", data.scale);
      }
      return {ir::DType::kI2S, ir::Shape{ne1, ne0}, data};
    }
    default: {
      auto type = gguf::GgmlTypeName(t->type);
      Fail("tensor ", name, " has type ", type ? *type : "?", ", which bitjit cannot execute");
    }
  }
}

}  // namespace bitjit
