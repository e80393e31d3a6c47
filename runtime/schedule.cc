#include "runtime/schedule.h"

#include <sstream>

#include "codegen/cpu_features.h"
#include "passes/plan_memory.h"
#include "runtime/batch_layout.h"
#include "runtime/compiled_model.h"

namespace bitjit {

Schedule::Schedule(const ir::Graph& graph, std::shared_ptr<const CompiledModel> compiled)
    : graph_(graph), compiled_(std::move(compiled)) {
  const ops::PrepareContext context{compiled_.get()};
  for (const auto& node : graph.nodes()) {
    Entry entry{ops::PrepareStep(*node, context), {}};
    for (const ir::Value* r : node->results) {
      n_values_ = std::max(n_values_, r->id + 1);
      if (r->arena_offset_per_token >= 0) {
        entry.results.push_back({r->id, r->arena_offset_per_token, 0});
      } else if (const int64_t bytes = passes::BytesPerToken(*r); bytes > 0) {
        entry.results.push_back({r->id, -1, bytes});
      }
    }
    entries_.push_back(std::move(entry));
  }
}

Schedule::~Schedule() = default;

std::string Schedule::Describe() const {
  std::ostringstream os;
  int n_steps = 0;
  for (const Entry& e : entries_) n_steps += e.step->node().kind != ir::OpKind::kConstant;
  os << "schedule " << graph_.name() << ": " << n_steps << " steps, "
     << (compiled_ ? "jit " + std::string(codegen::IsaName(compiled_->isa)) : "reference")
     << " {\n";
  for (const Entry& e : entries_) {
    const ir::Node& n = e.step->node();
    if (n.kind == ir::OpKind::kConstant) continue;
    os << "  ";
    for (size_t i = 0; i < n.results.size(); ++i) os << (i ? ", " : "") << "%" << n.results[i]->id;
    if (!n.results.empty()) os << " = ";
    os << ir::OpKindName(n.kind);
    for (size_t i = 0; i < n.operands.size(); ++i)
      os << (i ? ", " : " ") << "%" << n.operands[i]->id;
    if (!n.name.empty()) os << "  # " << n.name;
    os << "  [" << e.step->kernel() << "]\n";
  }
  os << "}\n";
  return os.str();
}

StepRunner::StepRunner(std::shared_ptr<const Schedule> schedule, int n_threads, const char* name)
    : schedule_(std::move(schedule)), name_(name), pool_(n_threads) {
  ptr_.assign(schedule_->n_values(), nullptr);
  own_.resize(schedule_->n_values());
}

void StepRunner::Forward(const StepInputs& in, KvCache& cache, float* logits) {
  const BatchLayout layout(in);
  const auto T = static_cast<int64_t>(in.tokens.size());
  const auto R = static_cast<int64_t>(in.output_rows.size());
  const int64_t arena_bytes = schedule_->graph().arena_bytes_per_token() * T;
  uint8_t* arena = arena_bytes > 0 ? arena_.Get(static_cast<size_t>(arena_bytes)) : nullptr;
  ops::StepContext ctx{in, layout, cache, pool_, scratch_, ptr_, logits, T, R};
  for (const Schedule::Entry& e : schedule_->entries()) {
    for (const Schedule::Binding& b : e.results) {
      ptr_[b.value_id] = b.arena_offset >= 0
                             ? arena + b.arena_offset * T
                             : own_[b.value_id].Get(static_cast<size_t>(b.own_bytes_per_token * T));
    }
    e.step->Run(ctx);
  }
}

}  // namespace bitjit
