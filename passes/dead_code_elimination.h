// Removes nodes whose results nobody uses.
#pragma once

#include "passes/pass.h"

namespace bitjit::passes {

class DeadCodeElimination : public Pass {
 public:
  std::string_view name() const override { return "dce"; }
  std::string_view description() const override { return "remove nodes whose results are unused"; }
  bool run(ir::Graph* graph) override { return graph->RemoveDeadNodes() > 0; }
};

}  // namespace bitjit::passes
