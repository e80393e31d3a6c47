// The reference backend: the schedule of every op's reference implementation (ops/, with the
// portable kernels of codegen/ref), run on one thread. Slow and simple on purpose; every
// optimized path is tested against it.
#pragma once

#include <memory>

#include "ir/graph.h"
#include "runtime/schedule.h"

namespace bitjit {

class Interpreter : public StepRunner {
 public:
  explicit Interpreter(std::shared_ptr<const Schedule> schedule)
      : StepRunner(std::move(schedule), 1, "interpreter") {}
  // Any graph: as lowered, or after any passes.
  explicit Interpreter(const ir::Graph& graph)
      : Interpreter(std::make_shared<const Schedule>(graph, nullptr)) {}
};

}  // namespace bitjit
