#include "ir/dtype.h"

namespace bitjit::ir {

std::string_view DTypeName(DType t) {
  switch (t) {
    case DType::kF32: return "f32";
    case DType::kF16: return "f16";
    case DType::kQ8_0: return "q8_0";
    case DType::kQ6_K: return "q6_k";
    case DType::kI2S: return "i2_s";
    case DType::kI8: return "i8";
    case DType::kI32: return "i32";
  }
  return "?";
}

}  // namespace bitjit::ir
