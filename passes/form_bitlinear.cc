#include "passes/form_bitlinear.h"

#include "passes/pattern.h"

namespace bitjit::passes {

bool FormBitLinear::run(ir::Graph* g) {
  bool changed = false;
  std::vector<ir::Node*> matmuls;
  for (const auto& n : g->nodes())
    if (n->kind == ir::OpKind::kTernaryMatmul) matmuls.push_back(n.get());
  for (ir::Node* mm : matmuls) {
    ir::Node* q = DefinedBy(mm->operands[0], ir::OpKind::kQuantizeAct);
    if (!q || mm->operands[1] != q->result(1)) continue;
    ir::Node* bl = g->BitLinear(q->operands[0], nullptr, 0.0f, {mm->operands[2]},
                                ir::Epilogue::kNone, nullptr, mm->name);
    g->ReplaceAllUses(mm->result(), bl->result());
    changed = true;
  }
  return CleanUp(g, changed);
}

}  // namespace bitjit::passes
