// Graph passes in the style of Glow's optimizer: a pass is a class with run(Graph*) that says
// whether it changed the graph; each pass is listed once in the registry (pass_registry.cc);
// a Pipeline runs a list of them and verifies the graph after each.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"

namespace bitjit::passes {

// What passes may know about the target: filled by whoever compiles (the runtime), so that
// passes stay independent of codegen. Empty members mean "no target decisions".
struct PassContext {
  std::string target;  // ISA name, "" or "ref" for the interpreter
  // Chooses the packed layout (rows per tile, tokens per block, codes per byte) for a ternary
  // matmul of k inputs and n outputs.
  std::function<ir::WeightTile(int64_t k, int64_t n)> choose_weight_tile;
};

class Pass {
 public:
  virtual ~Pass() = default;
  void set_context(const PassContext* context) { context_ = context; }
  virtual std::string_view name() const = 0;
  virtual std::string_view description() const = 0;
  // Rewrites the graph; returns true when it changed anything.
  virtual bool run(ir::Graph* graph) = 0;

 protected:
  const PassContext& context() const {
    static const PassContext kNone;
    return context_ ? *context_ : kNone;
  }

 private:
  const PassContext* context_ = nullptr;
};

// Every pass, by name, in the default pipeline order.
std::vector<std::string> PassNames();
// nullptr for an unknown name.
std::unique_ptr<Pass> CreatePass(std::string_view name);

class Pipeline {
 public:
  // Throws bitjit::Error on an unknown pass name.
  explicit Pipeline(const std::vector<std::string>& names);
  static Pipeline Default() { return Pipeline(PassNames()); }

  // Called after each pass with (pass name, changed, graph) — used by --print-after-all.
  using Observer = std::function<void(std::string_view, bool, const ir::Graph&)>;
  // Runs the passes in order, verifying after each (throws bitjit::Error on a broken graph).
  void Run(ir::Graph* graph, const Observer& observer = nullptr,
           const PassContext& context = {}) const;

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
};

}  // namespace bitjit::passes
