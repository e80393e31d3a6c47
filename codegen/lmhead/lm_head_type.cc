#include "codegen/lmhead/lm_head_type.h"

#include "ir/base/error.h"

namespace bitjit::lm_head {

LmHeadType ParseLmHeadType(std::string_view name) {
  if (name.empty() || name == "f16") return LmHeadType::kF16;
  if (name == "q8_0") return LmHeadType::kQ8_0;
  if (name == "q6_k") return LmHeadType::kQ6_K;
  Fail("--lm-head must be f16, q8_0 or q6_k, not '", name, "'");
}

std::string_view LmHeadTypeName(LmHeadType type) {
  switch (type) {
    case LmHeadType::kF16:
      return "f16";
    case LmHeadType::kQ8_0:
      return "q8_0";
    case LmHeadType::kQ6_K:
      return "q6_k";
  }
  return "?";
}

void CheckRowLength(LmHeadType type, int64_t n_embd) {
  const int64_t block = type == LmHeadType::kQ8_0 ? 32 : type == LmHeadType::kQ6_K ? 256 : 1;
  if (n_embd <= 0 || n_embd % block != 0) {
    Fail("--lm-head ", LmHeadTypeName(type), " needs n_embd to be a multiple of ", block,
         " (this model's is ", n_embd, ")");
  }
}

}  // namespace bitjit::lm_head
