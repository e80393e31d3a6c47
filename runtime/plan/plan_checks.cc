#include "runtime/plan/plan_checks.h"

#include <map>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ir/base/error.h"
#include "passes/plan_memory.h"

namespace bitjit {
namespace {

// Value ids index a table of pointers; compiled graphs have a few thousand values.
constexpr int32_t kMaxValueId = (1 << 20) - 1;
// No activation has a feature dimension anywhere near this (the 2B model's widest is 128256).
constexpr int64_t kMaxDim = int64_t{1} << 24;
// Bytes per batch token of the whole arena (the 2B model needs under 1 MB).
constexpr int64_t kMaxArenaBytesPerToken = int64_t{1} << 30;

std::string Field(size_t node, const char* field) {
  return "nodes[" + std::to_string(node) + "]." + field;
}
std::string ResultField(size_t node, size_t result, const char* field) {
  return "nodes[" + std::to_string(node) + "].results[" + std::to_string(result) + "]." + field;
}

bool InArena(const ir::Node& n) {
  return n.kind != ir::OpKind::kConstant && n.kind != ir::OpKind::kInput;
}

// Ids and shapes of one result, before anything computes with its dimensions.
void CheckValue(const ir::Node& n, const ir::Value& v, size_t i, size_t j,
                const std::string& path) {
  if (v.id < 0 || v.id > kMaxValueId) {
    Fail(path, ": ", ResultField(i, j, "id"), " ", v.id, " is not in 0..", kMaxValueId);
  }
  if (!InArena(n)) return;  // shapes of model tensors and inputs are checked where they are read
  const int rank = v.shape.rank();
  if (rank < 1 || rank > 4) Fail(path, ": ", ResultField(i, j, "dims"), " has rank ", rank);
  for (int d = 0; d < rank; ++d) {
    const int64_t dim = v.shape[d];
    const bool symbol = d == 0 && (dim == ir::kTokens || dim == ir::kRows);
    if (!symbol && (dim < 1 || dim > kMaxDim)) {
      Fail(path, ": ", ResultField(i, j, "dims"), " ", v.shape.ToString(), ": dimension ", d,
           " is not in 1..", kMaxDim);
    }
  }
}

// Every activation lies inside the arena, and nothing else claims a place in it.
void CheckArena(const ir::Value& v, size_t i, size_t j, int64_t arena, const std::string& path) {
  const int64_t size = passes::BytesPerToken(v);
  const int64_t offset = v.arena_offset_per_token;
  const std::string field = ResultField(i, j, "arena_offset_per_token");
  if (size == 0) {
    if (offset != -1) Fail(path, ": ", field, " ", offset, " must be -1 (not an activation)");
    return;
  }
  // The planner keeps every buffer cache-line aligned for any T; kernels load its elements
  // as aligned floats (a misaligned offset was a UBSan report in plan_fuzz).
  if (offset % passes::PlanMemory::kAlign != 0) {
    Fail(path, ": ", field, " ", offset, " is not a multiple of ", passes::PlanMemory::kAlign);
  }
  if (offset < 0 || offset > arena || size > arena - offset) {
    Fail(path, ": ", field, " ", offset, " + ", size, " bytes per token is outside ",
         "arena_bytes_per_token ", arena);
  }
}

void CheckAttention(const ir::Node& n, size_t i, const ModelConfig& config,
                    const std::string& path) {
  const ir::Attrs& a = n.attrs;
  if (a.layer < 0 || a.layer >= config.n_layer) {
    Fail(path, ": ", Field(i, "layer"), " ", a.layer, " is not below the model's ", config.n_layer,
         " layers");
  }
  // The KV cache's rows are the model's width; the attention writes and reads this one.
  if (int64_t{a.n_head_kv} * a.head_dim != config.n_embd_kv()) {
    Fail(path, ": ", Field(i, "n_head_kv"), " x head_dim = ", a.n_head_kv, " x ", a.head_dim,
         " is not the model's KV width ", config.n_embd_kv());
  }
}

// Whether `v` is the step's input named `name` (tokens or positions: T ids).
bool IsInput(const ir::Value& v, const char* name) {
  return v.producer->kind == ir::OpKind::kInput && v.producer->name == name;
}

// No two activations live at the same time share arena bytes. The planner gives each value a
// place of its own from its node to its last user (passes/plan_memory.cc) and kernels treat
// operands and results as separate buffers (plan_fuzz: a gather_rows whose result overlapped
// its operand was a memcpy of overlapping ranges). One sweep over the nodes: the places of the
// values live at a node, by offset, with the values that died before it dropped first.
void CheckArenaSharing(const ir::Graph& graph, const std::string& path) {
  const auto& nodes = graph.nodes();
  std::unordered_map<const ir::Value*, size_t> last_use;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const ir::Value* op : nodes[i]->operands) {
      auto it = last_use.find(op);
      if (it != last_use.end()) it->second = i;
    }
    for (const ir::Value* r : nodes[i]->results)
      if (passes::BytesPerToken(*r) > 0) last_use[r] = i;
  }
  struct Place {
    int64_t end;  // offset + size
    size_t node, result;
  };
  std::map<int64_t, Place> live;  // by offset
  // (last use, offset) of each live place, soonest first.
  std::priority_queue<std::pair<size_t, int64_t>, std::vector<std::pair<size_t, int64_t>>,
                      std::greater<>>
      dies;
  for (size_t i = 0; i < nodes.size(); ++i) {
    while (!dies.empty() && dies.top().first < i) {
      live.erase(dies.top().second);
      dies.pop();
    }
    for (size_t j = 0; j < nodes[i]->results.size(); ++j) {
      const ir::Value& v = *nodes[i]->results[j];
      const int64_t size = passes::BytesPerToken(v);
      if (size == 0) continue;
      const int64_t begin = v.arena_offset_per_token, end = begin + size;  // both in the arena
      auto next = live.lower_bound(begin);
      const Place* other = nullptr;
      if (next != live.end() && next->first < end) other = &next->second;
      if (next != live.begin() && std::prev(next)->second.end > begin)
        other = &std::prev(next)->second;
      if (other) {
        Fail(path, ": ", ResultField(i, j, "arena_offset_per_token"), " ", begin, " + ", size,
             " bytes per token overlaps nodes[", other->node, "].results[", other->result,
             "], which is live at the same time");
      }
      live.emplace(begin, Place{end, i, j});
      dies.push({last_use.at(&v), begin});
    }
  }
}

}  // namespace

void CheckPlanGraph(const ir::Graph& graph, const ModelConfig& config, const std::string& path) {
  const int64_t arena = graph.arena_bytes_per_token();
  if (arena < 1 || arena > kMaxArenaBytesPerToken) {
    Fail(path, ": arena_bytes_per_token ", arena, " is not in 1..", kMaxArenaBytesPerToken);
  }
  const auto& nodes = graph.nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (size_t j = 0; j < nodes[i]->results.size(); ++j) {
      CheckValue(*nodes[i], *nodes[i]->results[j], i, j, path);
    }
  }
  // Sizes are computed from the dimensions only once all of them are known to be sane.
  int outputs = 0;
  int64_t disjoint = 0;  // the arena if no two activations shared a place
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ir::Node& n = *nodes[i];
    for (size_t j = 0; j < n.results.size(); ++j) {
      CheckArena(*n.results[j], i, j, arena, path);
      const int64_t size = passes::BytesPerToken(*n.results[j]);
      disjoint += (size + passes::PlanMemory::kAlign - 1) / passes::PlanMemory::kAlign *
                  passes::PlanMemory::kAlign;
    }
    if (n.kind == ir::OpKind::kAttention) CheckAttention(n, i, config, path);
    // The executor reads T ids through these operands: a token id per row of the embedding, a
    // position per row of the rope and attention (the KV cache row it writes). Any other
    // value (the R output rows, tokens as positions) is read past its end or past the cache.
    const size_t ids = n.kind == ir::OpKind::kEmbedding   ? 1
                       : n.kind == ir::OpKind::kRope      ? 1
                       : n.kind == ir::OpKind::kAttention ? 3
                                                          : 0;
    const char* want = n.kind == ir::OpKind::kEmbedding ? "tokens" : "positions";
    if (ids > 0 && !IsInput(*n.operands[ids], want)) {
      Fail(path, ": ", Field(i, "operands"), ": ", ir::OpKindName(n.kind), " '", n.name,
           "' reads operand ", ids, " as the step's ", want, ", not '",
           n.operands[ids]->producer->name, "'");
    }
    if (n.kind == ir::OpKind::kInput) {
      // The executor binds an input by name to the step's tokens or positions (T ids) or else
      // its output rows (R ids); anything else read through it (say, as an embedding table)
      // would read past those few ints (plan_fuzz).
      const ir::Value& v = *n.result();
      const int64_t rows = n.name == "tokens" || n.name == "positions" ? ir::kTokens : ir::kRows;
      if (v.dtype != ir::DType::kI32 || v.shape != ir::Shape{rows}) {
        Fail(path, ": ", ResultField(i, 0, "dims"), ": input '", n.name, "' is ",
             ir::DTypeName(v.dtype), v.shape.ToString(), ", not i32[",
             rows == ir::kTokens ? "T" : "R", "]");
      }
    }
    if (n.kind == ir::OpKind::kEmbedding && n.operands[0]->shape[0] != config.n_vocab) {
      Fail(path, ": ", Field(i, "operands"), ": the embedding table ",
           n.operands[0]->shape.ToString(), " does not have the model's ", config.n_vocab, " rows");
    }
    if (n.kind == ir::OpKind::kGatherRows) {
      // The executor copies, for each of the R output rows, row rows[r] < T of a T-row f32
      // activation; the indices must be the output rows input (plan_fuzz: the embedding turned
      // into a gather_rows of the table by token ids aborted on the executor's bounds CHECK).
      const ir::Value& x = *n.operands[0];
      const ir::Value& rows = *n.operands[1];
      if (x.dtype != ir::DType::kF32 || x.shape[0] != ir::kTokens ||
          rows.producer->kind != ir::OpKind::kInput || rows.shape != ir::Shape{ir::kRows}) {
        Fail(path, ": ", Field(i, "operands"), ": gather_rows '", n.name, "' selects ",
             rows.shape.ToString(), " rows of ", ir::DTypeName(x.dtype), x.shape.ToString(),
             ", not the output rows R of an f32[T, ...] activation");
      }
    }
    if (n.kind == ir::OpKind::kOutput) {
      ++outputs;
      // Copied as is into the caller's R x n_vocab logits.
      const ir::Value& logits = *n.operands[0];
      if (logits.dtype != ir::DType::kF32 || logits.shape != ir::Shape{ir::kRows, config.n_vocab}) {
        Fail(path, ": ", Field(i, "operands"), ": the output is ", ir::DTypeName(logits.dtype),
             logits.shape.ToString(), ", not the model's logits f32[R, ", config.n_vocab, "]");
      }
    }
  }
  if (outputs != 1) Fail(path, ": the plan has ", outputs, " outputs (expected 1: the logits)");
  CheckArenaSharing(graph, path);
  // A planner never needs more than every activation in a place of its own; a larger figure
  // only makes each step allocate (arena x tokens) bytes for nothing (plan_fuzz: 1 GiB per
  // token asked for 2 GiB in a 2-token step).
  if (arena > disjoint) {
    Fail(path, ": arena_bytes_per_token ", arena, " is more than the ", disjoint,
         " bytes its activations take without sharing");
  }
}

}  // namespace bitjit
