// How a model tensor becomes an IR constant: its dtype, outermost-first shape, and a view of
// its bytes (for I2_S: the packed codes, with the per-tensor scale read from after them).
#pragma once

#include <string>

#include "frontend/gguf/gguf_file.h"
#include "ir/graph.h"

namespace bitjit {

struct TensorConstant {
  ir::DType dtype;
  ir::Shape shape;
  ir::ConstantData data;
};

// Throws bitjit::Error for a missing tensor, a type bitjit cannot execute, or a bad scale.
TensorConstant MakeTensorConstant(const gguf::GgufFile& file, const std::string& name);

}  // namespace bitjit
