#include "ir/graph.h"

#include <glog/logging.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace bitjit::ir {

std::string_view OpKindName(OpKind kind) {
  switch (kind) {
#define BITJIT_OP_NAME(kind, name, prepare) \
  case OpKind::kind:                        \
    return name;
    BITJIT_OP_KINDS(BITJIT_OP_NAME)
#undef BITJIT_OP_NAME
  }
  return "?";
}

std::string_view EpilogueName(Epilogue epilogue) {
  switch (epilogue) {
    case Epilogue::kNone:
      return "none";
    case Epilogue::kReluSqrMul:
      return "relu_sqr_mul";
    case Epilogue::kResidualAdd:
      return "residual_add";
    case Epilogue::kSiluMul:
      return "silu_mul";
  }
  return "?";
}

std::string_view RopeTypeName(RopeType type) {
  return type == RopeType::kNorm ? "norm" : "neox";
}

Node* Graph::AddNode(OpKind kind, std::string name, std::vector<Value*> operands,
                     std::vector<std::pair<DType, Shape>> result_types, Attrs attrs) {
  auto node = std::make_unique<Node>();
  node->kind = kind;
  node->name = std::move(name);
  node->operands = std::move(operands);
  node->attrs = attrs;
  for (auto& [dtype, shape] : result_types) {
    auto v = std::make_unique<Value>();
    v->id = static_cast<int>(values_.size());
    v->dtype = dtype;
    v->shape = std::move(shape);
    v->producer = node.get();
    node->results.push_back(v.get());
    values_.push_back(std::move(v));
  }
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

std::vector<Value*> Graph::outputs() const {
  std::vector<Value*> out;
  for (const auto& n : nodes_)
    // An output without its operand (a damaged plan) is the verifier's to report, not to read.
    if (n->kind == OpKind::kOutput && !n->operands.empty()) out.push_back(n->operands[0]);
  return out;
}

Value* Graph::FindInput(std::string_view name) const {
  for (const auto& n : nodes_)
    if (n->kind == OpKind::kInput && n->name == name) return n->result();
  return nullptr;
}

Value* Graph::Input(const std::string& name, DType dtype, Shape shape) {
  return AddNode(OpKind::kInput, name, {}, {{dtype, std::move(shape)}})->result();
}

Value* Graph::Constant(const std::string& label, DType dtype, Shape shape, ConstantData data) {
  Node* n = AddNode(OpKind::kConstant, label, {}, {{dtype, std::move(shape)}});
  n->constant = std::move(data);
  return n->result();
}

Value* Graph::Embedding(Value* table, Value* tokens) {
  CHECK_EQ(table->shape.rank(), 2);
  CHECK(tokens->dtype == DType::kI32);
  return AddNode(OpKind::kEmbedding, "token_embd", {table, tokens},
                 {{DType::kF32, Shape{tokens->shape[0], table->shape[1]}}})
      ->result();
}

Value* Graph::RmsNorm(Value* x, float eps, const std::string& label) {
  Attrs a;
  a.eps = eps;
  return AddNode(OpKind::kRmsNorm, label, {x}, {{DType::kF32, x->shape}}, a)->result();
}

Value* Graph::Mul(Value* x, Value* y, const std::string& label) {
  return AddNode(OpKind::kMul, label, {x, y}, {{DType::kF32, x->shape}})->result();
}

Value* Graph::Add(Value* x, Value* y, const std::string& label) {
  return AddNode(OpKind::kAdd, label, {x, y}, {{DType::kF32, x->shape}})->result();
}

Value* Graph::ReluSqr(Value* x, const std::string& label) {
  return AddNode(OpKind::kReluSqr, label, {x}, {{DType::kF32, x->shape}})->result();
}

Value* Graph::Silu(Value* x, const std::string& label) {
  return AddNode(OpKind::kSilu, label, {x}, {{DType::kF32, x->shape}})->result();
}

std::pair<Value*, Value*> Graph::QuantizeAct(Value* x, const std::string& label) {
  Node* n = AddNode(OpKind::kQuantizeAct, label, {x},
                    {{DType::kI8, x->shape}, {DType::kF32, Shape{x->shape[0]}}});
  return {n->result(0), n->result(1)};
}

Value* Graph::TernaryMatmul(Value* codes, Value* scales, Value* weight, const std::string& label) {
  CHECK(weight->dtype == DType::kI2S);
  return AddNode(OpKind::kTernaryMatmul, label, {codes, scales, weight},
                 {{DType::kF32, Shape{codes->shape[0], weight->shape[0]}}})
      ->result();
}

Value* Graph::Rope(Value* x, Value* positions, int n_head, int head_dim, float base,
                   Numerics numerics, const std::string& label, RopeType type) {
  Attrs a;
  a.n_head = n_head;
  a.head_dim = head_dim;
  a.rope_base = base;
  a.rope_type = type;
  a.numerics = numerics;
  return AddNode(OpKind::kRope, label, {x, positions}, {{DType::kF32, x->shape}}, a)->result();
}

Value* Graph::Attention(Value* q, Value* k, Value* v, Value* positions, int layer, int n_head,
                        int n_head_kv, int head_dim, Numerics numerics, const std::string& label) {
  Attrs a;
  a.layer = layer;
  a.n_head = n_head;
  a.n_head_kv = n_head_kv;
  a.head_dim = head_dim;
  a.numerics = numerics;
  return AddNode(OpKind::kAttention, label, {q, k, v, positions}, {{DType::kF32, q->shape}}, a)
      ->result();
}

Value* Graph::GatherRows(Value* x, Value* rows, const std::string& label) {
  return AddNode(OpKind::kGatherRows, label, {x, rows},
                 {{DType::kF32, Shape{rows->shape[0], x->shape[1]}}})
      ->result();
}

Value* Graph::LmHead(Value* x, Value* table, Numerics numerics, const std::string& label) {
  Attrs a;
  a.numerics = numerics;
  return AddNode(OpKind::kLmHead, label, {x, table},
                 {{DType::kF32, Shape{x->shape[0], table->shape[0]}}}, a)
      ->result();
}

void Graph::Output(Value* v, const std::string& name) {
  AddNode(OpKind::kOutput, name, {v}, {});
}

Node* Graph::BitLinear(Value* x, Value* norm_weight, float eps, std::vector<Value*> weights,
                       Epilogue epilogue, Value* residual, const std::string& label) {
  Attrs a;
  a.prologue = norm_weight ? Prologue::kRmsNormQuantize : Prologue::kQuantize;
  a.eps = eps;
  a.epilogue = epilogue;
  a.n_weights = static_cast<int>(weights.size());
  std::vector<Value*> ops = {x};
  if (norm_weight) ops.push_back(norm_weight);
  ops.insert(ops.end(), weights.begin(), weights.end());
  if (residual) ops.push_back(residual);
  std::vector<std::pair<DType, Shape>> results;
  const int64_t rows = x->shape[0];
  switch (epilogue) {
    case Epilogue::kNone:
      for (Value* w : weights) results.push_back({DType::kF32, Shape{rows, w->shape[0]}});
      break;
    case Epilogue::kReluSqrMul:
    case Epilogue::kSiluMul:
      CHECK_EQ(weights.size(), 2u);
      results.push_back({DType::kF32, Shape{rows, weights[0]->shape[0]}});
      break;
    case Epilogue::kResidualAdd:
      CHECK_EQ(weights.size(), 1u);
      CHECK(residual != nullptr);
      results.push_back({DType::kF32, Shape{rows, weights[0]->shape[0]}});
      break;
  }
  return AddNode(OpKind::kBitLinear, label, std::move(ops), std::move(results), a);
}

void Graph::TopoSort() {
  std::vector<std::unique_ptr<Node>> sorted;
  sorted.reserve(nodes_.size());
  std::unordered_set<const Node*> placed;
  std::unordered_map<const Node*, std::unique_ptr<Node>*> slot;
  for (auto& n : nodes_) slot[n.get()] = &n;
  // Iterative DFS: place a node once every producer of its operands is placed.
  for (auto& root : nodes_) {
    if (!root) continue;
    std::vector<Node*> stack = {root.get()};
    while (!stack.empty()) {
      Node* n = stack.back();
      if (placed.count(n)) {
        stack.pop_back();
        continue;
      }
      bool ready = true;
      for (Value* op : n->operands) {
        Node* p = op->producer;
        if (!placed.count(p) && slot.count(p)) {
          stack.push_back(p);
          ready = false;
        }
      }
      if (!ready) continue;
      stack.pop_back();
      placed.insert(n);
      sorted.push_back(std::move(*slot[n]));
    }
  }
  nodes_ = std::move(sorted);
  Renumber();
}

std::vector<Node*> Graph::Users(const Value* v) const {
  std::vector<Node*> users;
  for (const auto& n : nodes_)
    if (std::find(n->operands.begin(), n->operands.end(), v) != n->operands.end())
      users.push_back(n.get());
  return users;
}

void Graph::Renumber() {
  int id = 0;
  for (auto& n : nodes_)
    for (Value* v : n->results) v->id = id++;
}

void Graph::ReplaceAllUses(Value* from, Value* to) {
  for (auto& n : nodes_)
    for (Value*& op : n->operands)
      if (op == from) op = to;
}

int Graph::RemoveDeadNodes() {
  int removed = 0;
  for (bool changed = true; changed;) {
    changed = false;
    std::unordered_set<const Value*> used;
    for (auto& n : nodes_)
      for (Value* op : n->operands) used.insert(op);
    auto dead = [&](const std::unique_ptr<Node>& n) {
      if (n->kind == OpKind::kOutput || n->kind == OpKind::kInput) return false;
      if (n->kind == OpKind::kAttention) return false;  // writes the KV cache
      return std::none_of(n->results.begin(), n->results.end(),
                          [&](Value* v) { return used.count(v) > 0; });
    };
    const auto before = nodes_.size();
    nodes_.erase(std::remove_if(nodes_.begin(), nodes_.end(), dead), nodes_.end());
    if (nodes_.size() != before) {
      removed += static_cast<int>(before - nodes_.size());
      changed = true;
    }
  }
  // Values of removed nodes stay allocated (cheap) but are no longer reachable.
  Renumber();
  return removed;
}

}  // namespace bitjit::ir
