// Shapes of IR values, outermost dimension first ([tokens, features]). A forward step is
// compiled once for any batch, so a dimension may be symbolic: kTokens (T, the tokens of the
// batch) or kRows (R, the rows whose logits are wanted). The runtime binds both per step.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace bitjit::ir {

inline constexpr int64_t kTokens = -1;  // "T"
inline constexpr int64_t kRows = -2;    // "R"

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}

  int rank() const { return static_cast<int>(dims_.size()); }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t back() const { return dims_.back(); }
  const std::vector<int64_t>& dims() const { return dims_; }
  bool operator==(const Shape& o) const { return dims_ == o.dims_; }
  bool operator!=(const Shape& o) const { return dims_ != o.dims_; }

  // Elements once the symbols are bound.
  int64_t NumElements(int64_t n_tokens, int64_t n_rows) const;
  // "[T, 2560]"
  std::string ToString() const;

 private:
  std::vector<int64_t> dims_;
};

}  // namespace bitjit::ir
