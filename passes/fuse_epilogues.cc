#include "passes/fuse_epilogues.h"

#include "passes/pattern.h"

namespace bitjit::passes {
namespace {

std::vector<ir::Node*> NodesOf(const ir::Graph& g, ir::OpKind kind) {
  std::vector<ir::Node*> out;
  for (const auto& n : g.nodes())
    if (n->kind == kind) out.push_back(n.get());
  return out;
}

}  // namespace

bool FuseGlu::run(ir::Graph* g) {
  bool changed = false;
  for (ir::Node* mul : NodesOf(*g, ir::OpKind::kMul)) {
    // relu(gate)^2 * up (bitnet-b1.58) or silu(gate) * up (llama).
    ir::Node* act = DefinedBy(mul->operands[0], ir::OpKind::kReluSqr);
    ir::Epilogue epilogue = ir::Epilogue::kReluSqrMul;
    if (!act) {
      act = DefinedBy(mul->operands[0], ir::OpKind::kSilu);
      epilogue = ir::Epilogue::kSiluMul;
    }
    if (!act) continue;
    ir::Value* gate = act->operands[0];
    ir::Value* up = mul->operands[1];
    ir::Node* bl = DefinedBy(gate, ir::OpKind::kBitLinear);
    if (!bl || up->producer != bl || bl->attrs.n_weights != 2 ||
        bl->attrs.epilogue != ir::Epilogue::kNone || bl->result(0) != gate || bl->result(1) != up ||
        g->Users(gate).size() != 1 || g->Users(up).size() != 1 ||
        g->Users(act->result()).size() != 1) {
      continue;
    }
    ir::Node* fused =
        g->BitLinear(bl->bl_input(), bl->bl_norm(), bl->attrs.eps,
                     {bl->bl_weight(0), bl->bl_weight(1)}, epilogue, nullptr, bl->name);
    g->ReplaceAllUses(mul->result(), fused->result());
    changed = true;
  }
  return CleanUp(g, changed);
}

bool FuseResidual::run(ir::Graph* g) {
  bool changed = false;
  for (ir::Node* add : NodesOf(*g, ir::OpKind::kAdd)) {
    // add(x, y) computes x + y; float addition is commutative, so either side may be the
    // bitlinear's result.
    for (int side = 1; side >= 0; --side) {
      ir::Value* y = add->operands[side];
      ir::Value* r = add->operands[1 - side];
      ir::Node* bl = DefinedBy(y, ir::OpKind::kBitLinear);
      if (!bl || bl->attrs.epilogue != ir::Epilogue::kNone || bl->attrs.n_weights != 1 ||
          g->Users(y).size() != 1 || r->shape != y->shape) {
        continue;
      }
      ir::Node* fused = g->BitLinear(bl->bl_input(), bl->bl_norm(), bl->attrs.eps,
                                     {bl->bl_weight(0)}, ir::Epilogue::kResidualAdd, r, bl->name);
      g->ReplaceAllUses(add->result(), fused->result());
      changed = true;
      break;
    }
  }
  return CleanUp(g, changed);
}

}  // namespace bitjit::passes
