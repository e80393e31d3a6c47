#include "passes/weight_layout.h"

namespace bitjit::passes {

bool WeightLayout::run(ir::Graph* g) {
  const auto& choose = context().choose_weight_tile;
  if (!choose) return false;
  bool changed = false;
  for (const auto& n : g->nodes()) {
    if (n->kind != ir::OpKind::kBitLinear) continue;
    std::vector<ir::WeightTile> tiles;
    for (int i = 0; i < n->attrs.n_weights; ++i) {
      const ir::Value* w = n->bl_weight(i);
      tiles.push_back(choose(w->shape[1], w->shape[0]));
    }
    changed |= tiles != n->attrs.weight_tiles;
    n->attrs.weight_tiles = std::move(tiles);
  }
  return changed;
}

}  // namespace bitjit::passes
