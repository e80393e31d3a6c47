// Small helpers for matching graph patterns in passes.
#pragma once

#include "ir/graph.h"

namespace bitjit::passes {

// The node that defines v, if it is of `kind`.
inline ir::Node* DefinedBy(const ir::Value* v, ir::OpKind kind) {
  return v && v->producer && v->producer->kind == kind ? v->producer : nullptr;
}

// True when every user of v is a node of `kind`.
inline bool OnlyUsedBy(const ir::Graph& g, const ir::Value* v, ir::OpKind kind) {
  for (const ir::Node* u : g.Users(v))
    if (u->kind != kind) return false;
  return true;
}

// What every fusion does after rewriting: drop the replaced nodes, restore topological order.
// Returns `changed` for the pass to return.
inline bool CleanUp(ir::Graph* g, bool changed) {
  if (changed) {
    g->RemoveDeadNodes();
    g->TopoSort();
  }
  return changed;
}

}  // namespace bitjit::passes
