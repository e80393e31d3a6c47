#include "passes/fuse_norm.h"

#include "passes/pattern.h"

namespace bitjit::passes {

bool FuseNorm::run(ir::Graph* g) {
  bool changed = false;
  std::vector<ir::Node*> candidates;
  for (const auto& n : g->nodes())
    if (n->kind == ir::OpKind::kBitLinear && n->attrs.prologue == ir::Prologue::kQuantize)
      candidates.push_back(n.get());
  for (ir::Node* bl : candidates) {
    ir::Node* mul = DefinedBy(bl->bl_input(), ir::OpKind::kMul);
    if (!mul || !OnlyUsedBy(*g, mul->result(), ir::OpKind::kBitLinear)) continue;
    ir::Node* norm = DefinedBy(mul->operands[0], ir::OpKind::kRmsNorm);
    ir::Value* w = mul->operands[1];
    if (!norm || w->shape.rank() != 1) continue;
    std::vector<ir::Value*> weights;
    for (int i = 0; i < bl->attrs.n_weights; ++i) weights.push_back(bl->bl_weight(i));
    ir::Node* fused = g->BitLinear(norm->operands[0], w, norm->attrs.eps, weights,
                                   bl->attrs.epilogue, bl->bl_residual(), bl->name);
    for (size_t i = 0; i < bl->results.size(); ++i) g->ReplaceAllUses(bl->result(i), fused->result(i));
    changed = true;
  }
  return CleanUp(g, changed);
}

}  // namespace bitjit::passes
