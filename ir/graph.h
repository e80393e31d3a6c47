// The IR: a typed dataflow graph of one forward step of a model over a batch of tokens.
//
// A Graph owns Nodes in topological order; each Node consumes Values (operands) and defines
// Values (results). Constants are views of weight tensors that live elsewhere (the mapped GGUF
// or a repacked sidecar); the graph never owns weight data. Shapes are outermost-first and may
// use the symbols T (tokens in the batch) and R (rows whose logits are wanted).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/dtype.h"
#include "ir/op_kinds.h"
#include "ir/shape.h"

namespace bitjit::ir {

enum class OpKind : uint8_t {
#define BITJIT_OP_ENUMERATOR(kind, name, prepare) kind,
  BITJIT_OP_KINDS(BITJIT_OP_ENUMERATOR)
#undef BITJIT_OP_ENUMERATOR
};
#define BITJIT_OP_COUNT(kind, name, prepare) +1
inline constexpr int kOpKindCount = 0 BITJIT_OP_KINDS(BITJIT_OP_COUNT);
#undef BITJIT_OP_COUNT

// What a kBitLinear does before its matmuls.
enum class Prologue : uint8_t {
  kQuantize,         // operands: x, weights...
  kRmsNormQuantize,  // operands: x, norm weight, weights...  (quantizes rmsnorm(x) * w)
};

// What a kBitLinear does after them.
enum class Epilogue : uint8_t {
  kNone,         // one result per weight
  kReluSqrMul,   // two weights (gate, up); one result relu(gate)^2 * up
  kResidualAdd,  // one weight; last operand r; one result r + y
  kSiluMul,      // two weights (gate, up); one result silu(gate) * up
};

// Which pairs of a head RoPE rotates: NEOX (i, i + D/2; bitnet-b1.58) or NORM (2i, 2i + 1;
// llama).
enum class RopeType : uint8_t { kNeox, kNorm };

std::string_view OpKindName(OpKind kind);
std::string_view EpilogueName(Epilogue epilogue);
std::string_view RopeTypeName(RopeType type);

// Rounding behaviour: bitnet.cpp's (F16 K/V cache, F16 q, F16 softmax in decode, F16 lm_head
// input for one row, float32 RoPE angle recurrence) or plain float32 everywhere.
enum class Numerics : uint8_t { kBitnet, kF32 };

class Node;

class Value {
 public:
  int id = -1;
  DType dtype = DType::kF32;
  Shape shape;
  Node* producer = nullptr;
  // Set by the plan-memory pass: where this activation lives in the step's arena, in bytes per
  // token of the batch (the arena scales with T; R <= T). -1: not in the arena.
  int64_t arena_offset_per_token = -1;
};

// Where a constant's bytes are.
struct ConstantData {
  std::string name;  // tensor name in the model file
  const uint8_t* data = nullptr;
  uint64_t n_bytes = 0;
  float scale = 1.0f;  // i2_s: per-tensor weight scale
};

// One ternary weight's packed layout: rows per tile, tokens per prefill block, and ternary codes
// per byte (4: 2 bits each; 5: base 3, 1.6 bits each).
struct WeightTile {
  int rows = 0;
  int tokens = 0;
  int codes_per_byte = 4;
  bool operator==(const WeightTile&) const = default;
};

struct Attrs {
  float eps = 0.0f;                         // RmsNorm
  float rope_base = 0.0f;                   // Rope
  RopeType rope_type = RopeType::kNeox;     // Rope
  int layer = -1;                           // Attention: which KV cache layer
  int n_head = 0;                           // Rope, Attention
  int n_head_kv = 0;                        // Attention
  int head_dim = 0;                         // Rope, Attention
  Numerics numerics = Numerics::kBitnet;    // Rope, Attention, LmHead
  Prologue prologue = Prologue::kQuantize;  // BitLinear
  Epilogue epilogue = Epilogue::kNone;      // BitLinear
  int n_weights = 0;                        // BitLinear
  // BitLinear: the packed weight layout chosen for each weight by the weight-layout pass;
  // empty = the kernels' defaults.
  std::vector<WeightTile> weight_tiles;
};

class Node {
 public:
  OpKind kind;
  std::string name;  // inputs: the input's name; others: a readable label ("blk.0.attn_q")
  std::vector<Value*> operands;
  std::vector<Value*> results;
  Attrs attrs;
  ConstantData constant;  // kConstant only

  Value* result(int i = 0) const { return results[i]; }

  // kBitLinear operand layout: x, [norm weight], weights..., [residual].
  Value* bl_input() const { return operands[0]; }
  Value* bl_norm() const {
    return attrs.prologue == Prologue::kRmsNormQuantize ? operands[1] : nullptr;
  }
  int bl_first_weight() const { return attrs.prologue == Prologue::kRmsNormQuantize ? 2 : 1; }
  Value* bl_weight(int i) const { return operands[bl_first_weight() + i]; }
  Value* bl_residual() const {
    return attrs.epilogue == Epilogue::kResidualAdd ? operands.back() : nullptr;
  }
};

class Graph {
 public:
  explicit Graph(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  // Arena bytes per batch token, set by the plan-memory pass (0 before it runs).
  int64_t arena_bytes_per_token() const { return arena_bytes_per_token_; }
  void set_arena_bytes_per_token(int64_t b) { arena_bytes_per_token_ = b; }
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }
  std::vector<std::unique_ptr<Node>>& mutable_nodes() { return nodes_; }
  std::vector<Value*> outputs() const;
  Value* FindInput(std::string_view name) const;

  // Builders. Each infers its result type and shape and checks its operands (CHECK: a bad
  // graph is a programming error; the verifier re-checks the whole graph).
  Value* Input(const std::string& name, DType dtype, Shape shape);
  Value* Constant(const std::string& label, DType dtype, Shape shape, ConstantData data);
  Value* Embedding(Value* table, Value* tokens);
  Value* RmsNorm(Value* x, float eps, const std::string& label);
  Value* Mul(Value* x, Value* y, const std::string& label);
  Value* Add(Value* x, Value* y, const std::string& label);
  Value* ReluSqr(Value* x, const std::string& label);
  Value* Silu(Value* x, const std::string& label);
  // Returns {codes i8[.., K], scales f32[..]}.
  std::pair<Value*, Value*> QuantizeAct(Value* x, const std::string& label);
  Value* TernaryMatmul(Value* codes, Value* scales, Value* weight, const std::string& label);
  Value* Rope(Value* x, Value* positions, int n_head, int head_dim, float base, Numerics numerics,
              const std::string& label, RopeType type = RopeType::kNeox);
  Value* Attention(Value* q, Value* k, Value* v, Value* positions, int layer, int n_head,
                   int n_head_kv, int head_dim, Numerics numerics, const std::string& label);
  Value* GatherRows(Value* x, Value* rows, const std::string& label);
  Value* LmHead(Value* x, Value* table, Numerics numerics, const std::string& label);
  void Output(Value* v, const std::string& name);
  // A fused BitLinear; result shapes follow from the epilogue.
  Node* BitLinear(Value* x, Value* norm_weight, float eps, std::vector<Value*> weights,
                  Epilogue epilogue, Value* residual, const std::string& label);

  // Reorders nodes so that each comes after the producers of its operands, otherwise keeping
  // the current order (passes append fused nodes at the end, then call this).
  void TopoSort();
  // Users of a value.
  std::vector<Node*> Users(const Value* v) const;

  // Low-level: appends a node with results of the given types (used by builders and passes).
  Node* AddNode(OpKind kind, std::string name, std::vector<Value*> operands,
                std::vector<std::pair<DType, Shape>> result_types, Attrs attrs = {});
  // Renumbers values in node order (after a pass removed or reordered nodes).
  void Renumber();
  // Points every use of `from` at `to`.
  void ReplaceAllUses(Value* from, Value* to);
  // Drops nodes whose results nobody uses (outputs are used). Returns how many were removed.
  int RemoveDeadNodes();

 private:
  std::string name_;
  int64_t arena_bytes_per_token_ = 0;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Value>> values_;
};

}  // namespace bitjit::ir
