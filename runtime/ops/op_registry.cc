// The one switch over op kinds: each kind's Prepare function, as ir/op_kinds.h lists them.
#include "ir/base/error.h"
#include "runtime/ops/op_step.h"

namespace bitjit::ops {

std::unique_ptr<OpStep> PrepareStep(const ir::Node& node, const PrepareContext& ctx) {
  switch (node.kind) {
#define BITJIT_PREPARE_CASE(kind, name, prepare) \
  case ir::OpKind::kind:                         \
    return Prepare##prepare(node, ctx);
    BITJIT_OP_KINDS(BITJIT_PREPARE_CASE)
#undef BITJIT_PREPARE_CASE
  }
  Fail("node ", node.name, ": unknown op kind ", static_cast<int>(node.kind));
}

}  // namespace bitjit::ops
