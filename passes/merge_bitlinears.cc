#include "passes/merge_bitlinears.h"

#include <map>

#include "passes/pattern.h"
#include <tuple>

namespace bitjit::passes {

bool MergeBitLinears::run(ir::Graph* g) {
  // Group by (input, norm weight): same input and prologue means the same quantized codes.
  std::map<std::pair<const ir::Value*, const ir::Value*>, std::vector<ir::Node*>> groups;
  std::vector<std::pair<const ir::Value*, const ir::Value*>> order;
  for (const auto& n : g->nodes()) {
    if (n->kind != ir::OpKind::kBitLinear || n->attrs.epilogue != ir::Epilogue::kNone) continue;
    auto key = std::make_pair(n->bl_input(), n->bl_norm());
    if (groups[key].empty()) order.push_back(key);
    groups[key].push_back(n.get());
  }
  bool changed = false;
  for (const auto& key : order) {
    const auto& members = groups[key];
    if (members.size() < 2) continue;
    std::vector<ir::Value*> weights;
    std::string label;
    for (ir::Node* m : members) {
      for (int i = 0; i < m->attrs.n_weights; ++i) weights.push_back(m->bl_weight(i));
      label += (label.empty() ? "" : "+") + m->name;
    }
    ir::Node* merged = g->BitLinear(members[0]->bl_input(), members[0]->bl_norm(),
                                    members[0]->attrs.eps, weights, ir::Epilogue::kNone, nullptr,
                                    label);
    int r = 0;
    for (ir::Node* m : members)
      for (ir::Value* v : m->results) g->ReplaceAllUses(v, merged->result(r++));
    changed = true;
  }
  return CleanUp(g, changed);
}

}  // namespace bitjit::passes
