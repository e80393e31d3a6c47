#include "ir/shape.h"

namespace bitjit::ir {

int64_t Shape::NumElements(int64_t n_tokens, int64_t n_rows) const {
  int64_t n = 1;
  for (int64_t d : dims_) n *= d == kTokens ? n_tokens : d == kRows ? n_rows : d;
  return n;
}

std::string Shape::ToString() const {
  std::string s = "[";
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += ", ";
    s += dims_[i] == kTokens ? "T" : dims_[i] == kRows ? "R" : std::to_string(dims_[i]);
  }
  return s + "]";
}

}  // namespace bitjit::ir
