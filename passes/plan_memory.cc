#include "passes/plan_memory.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace bitjit::passes {
namespace {

int64_t ElementBytes(ir::DType t) {
  switch (t) {
    case ir::DType::kF32: case ir::DType::kI32: return 4;
    case ir::DType::kF16: return 2;
    case ir::DType::kI8: return 1;
    default: return 0;  // packed weight types never live in the arena
  }
}

int64_t AlignUp(int64_t x, int64_t a) { return (x + a - 1) / a * a; }

}  // namespace

int64_t BytesPerToken(const ir::Value& v) {
  const ir::Node* p = v.producer;
  if (p == nullptr || p->kind == ir::OpKind::kConstant || p->kind == ir::OpKind::kInput) return 0;
  if (v.shape.rank() == 0 || (v.shape[0] != ir::kTokens && v.shape[0] != ir::kRows)) return 0;
  int64_t per_row = ElementBytes(v.dtype);
  for (int i = 1; i < v.shape.rank(); ++i) per_row *= v.shape[i];
  return AlignUp(per_row, PlanMemory::kAlign);
}

bool PlanMemory::run(ir::Graph* g) {
  // Live range of each arena value: [index of its node, index of its last user].
  std::unordered_map<const ir::Value*, std::pair<int, int>> range;
  std::vector<const ir::Value*> order;
  const auto& nodes = g->nodes();
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    for (const ir::Value* op : nodes[i]->operands) {
      auto it = range.find(op);
      if (it != range.end()) it->second.second = i;
    }
    for (const ir::Value* r : nodes[i]->results) {
      if (BytesPerToken(*r) == 0) continue;
      range[r] = {i, i};
      order.push_back(r);
    }
  }
  // First fit over intervals of the arena that are free during a value's whole live range.
  struct Placed {
    int64_t offset, size;
    int begin, end;
  };
  std::vector<Placed> placed;
  int64_t total = 0;
  bool changed = false;
  for (const ir::Value* v : order) {
    const auto [begin, end] = range[v];
    const int64_t size = BytesPerToken(*v);
    std::vector<std::pair<int64_t, int64_t>> busy;  // [offset, offset + size) overlapping in time
    for (const Placed& p : placed)
      if (p.begin <= end && begin <= p.end) busy.push_back({p.offset, p.offset + p.size});
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (const auto& [lo, hi] : busy) {
      if (offset + size <= lo) break;
      offset = std::max(offset, hi);
    }
    placed.push_back({offset, size, begin, end});
    total = std::max(total, offset + size);
    auto* mutable_v = const_cast<ir::Value*>(v);
    changed |= mutable_v->arena_offset_per_token != offset;
    mutable_v->arena_offset_per_token = offset;
  }
  changed |= g->arena_bytes_per_token() != total;
  g->set_arena_bytes_per_token(total);
  return changed;
}

}  // namespace bitjit::passes
