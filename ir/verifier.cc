#include "ir/verifier.h"

#include <sstream>
#include <unordered_set>

#include "ir/base/error.h"

namespace bitjit::ir {
namespace {

class Checker {
 public:
  explicit Checker(std::vector<std::string>* problems) : problems_(problems) {}

  void Expect(bool ok, const Node& n, const std::string& what) {
    if (!ok) {
      problems_->push_back(std::string(OpKindName(n.kind)) + " '" + n.name + "': " + what);
    }
  }

  void Check(const Node& n) {
    const auto& ops = n.operands;
    auto arity = [&](size_t k) {
      Expect(ops.size() == k, n, "expects " + std::to_string(k) + " operands");
      return ops.size() == k;
    };
    auto is = [](const Value* v, DType t) { return v->dtype == t; };
    auto rows_of = [](const Value* v) { return v->shape[0]; };
    switch (n.kind) {
      case OpKind::kInput:
        Expect(ops.empty() && n.results.size() == 1, n, "an input has no operands, one result");
        break;
      case OpKind::kConstant:
        Expect(n.constant.data != nullptr, n, "constant without data");
        break;
      case OpKind::kEmbedding:
        if (!arity(2)) return;
        Expect(is(ops[0], DType::kF16) || is(ops[0], DType::kQ8_0), n, "table must be f16 or q8_0");
        Expect(is(ops[1], DType::kI32) && ops[1]->shape.rank() == 1, n, "ids must be i32[N]");
        Expect(n.result()->shape == Shape{ops[1]->shape[0], ops[0]->shape[1]}, n, "result shape");
        break;
      case OpKind::kRmsNorm:
      case OpKind::kReluSqr:
      case OpKind::kSilu:
        if (!arity(1)) return;
        Expect(is(ops[0], DType::kF32) && ops[0]->shape.rank() == 2, n, "operand must be f32 2-D");
        Expect(n.result()->shape == ops[0]->shape, n, "result shape must match operand");
        if (n.kind == OpKind::kRmsNorm) Expect(n.attrs.eps > 0, n, "eps must be positive");
        break;
      case OpKind::kMul:
      case OpKind::kAdd:
        if (!arity(2)) return;
        Expect(is(ops[0], DType::kF32) && is(ops[1], DType::kF32), n, "operands must be f32");
        Expect(ops[1]->shape == ops[0]->shape ||
                   (ops[1]->shape.rank() == 1 && ops[1]->shape[0] == ops[0]->shape.back()),
               n,
               "shapes " + ops[0]->shape.ToString() + " and " + ops[1]->shape.ToString() +
                   " do not broadcast");
        break;
      case OpKind::kQuantizeAct:
        if (!arity(1)) return;
        Expect(is(ops[0], DType::kF32), n, "operand must be f32");
        Expect(n.results.size() == 2 && is(n.result(0), DType::kI8) && is(n.result(1), DType::kF32),
               n, "results must be (i8 codes, f32 scales)");
        break;
      case OpKind::kTernaryMatmul:
        if (!arity(3)) return;
        Expect(is(ops[0], DType::kI8) && is(ops[1], DType::kF32) && is(ops[2], DType::kI2S), n,
               "operands must be (i8 codes, f32 scales, i2_s weight)");
        Expect(ops[0]->shape.back() == ops[2]->shape[1], n,
               "inner dimensions differ: " + ops[0]->shape.ToString() + " x " +
                   ops[2]->shape.ToString());
        Expect(rows_of(ops[1]) == rows_of(ops[0]), n, "one scale per row");
        Expect(n.result()->shape == Shape{rows_of(ops[0]), ops[2]->shape[0]}, n, "result shape");
        break;
      case OpKind::kRope:
        if (!arity(2)) return;
        Expect(n.attrs.head_dim > 0 && n.attrs.head_dim % 2 == 0, n, "head_dim must be even");
        Expect(ops[0]->shape.back() == int64_t{n.attrs.n_head} * n.attrs.head_dim, n,
               "width must be n_head * head_dim");
        Expect(is(ops[1], DType::kI32) && rows_of(ops[1]) == rows_of(ops[0]), n,
               "positions must be i32, one per row");
        break;
      case OpKind::kAttention: {
        if (!arity(4)) return;
        const Attrs& a = n.attrs;
        Expect(a.layer >= 0 && a.n_head_kv > 0 && a.n_head % a.n_head_kv == 0, n, "bad heads");
        Expect(ops[0]->shape.back() == int64_t{a.n_head} * a.head_dim, n, "q width");
        Expect(ops[1]->shape.back() == int64_t{a.n_head_kv} * a.head_dim, n, "k width");
        Expect(ops[2]->shape.back() == int64_t{a.n_head_kv} * a.head_dim, n, "v width");
        Expect(is(ops[3], DType::kI32), n, "positions must be i32");
        break;
      }
      case OpKind::kGatherRows:
        if (!arity(2)) return;
        Expect(is(ops[1], DType::kI32), n, "row indices must be i32");
        break;
      case OpKind::kLmHead:
        if (!arity(2)) return;
        Expect(is(ops[1], DType::kF16) || is(ops[1], DType::kQ8_0), n, "table must be f16 or q8_0");
        Expect(ops[0]->shape.back() == ops[1]->shape[1], n, "inner dimensions differ");
        break;
      case OpKind::kOutput:
        arity(1);
        break;
      case OpKind::kBitLinear: {
        const Attrs& a = n.attrs;
        const size_t expect = 1 + (a.prologue == Prologue::kRmsNormQuantize) + a.n_weights +
                              (a.epilogue == Epilogue::kResidualAdd);
        if (!arity(expect) || a.n_weights < 1) return;
        const Value* x = n.bl_input();
        Expect(is(x, DType::kF32) && x->shape.rank() == 2, n, "input must be f32 2-D");
        if (const Value* w = n.bl_norm()) {
          Expect(is(w, DType::kF32) && w->shape == Shape{x->shape[1]}, n, "norm weight shape");
          Expect(a.eps > 0, n, "eps must be positive");
        }
        for (int i = 0; i < a.n_weights; ++i) {
          const Value* w = n.bl_weight(i);
          Expect(
              is(w, DType::kI2S) && w->shape.rank() == 2 && w->shape[1] == x->shape[1], n,
              "weight " + std::to_string(i) + " must be i2_s[N, " + x->shape.ToString() + "[1]]");
        }
        Expect(a.weight_tiles.empty() || static_cast<int>(a.weight_tiles.size()) == a.n_weights, n,
               "one layout per weight");
        for (const WeightTile& t : a.weight_tiles) {
          Expect(t.codes_per_byte == 4 || t.codes_per_byte == 5, n,
                 "weight layout with " + std::to_string(t.codes_per_byte) + " codes per byte");
        }
        if (a.epilogue == Epilogue::kReluSqrMul || a.epilogue == Epilogue::kSiluMul) {
          Expect(a.n_weights == 2 && n.bl_weight(0)->shape == n.bl_weight(1)->shape, n,
                 std::string(EpilogueName(a.epilogue)) + " needs two weights of one shape");
        }
        if (const Value* r = n.bl_residual()) {
          Expect(r->shape == n.result()->shape, n, "residual shape must match the result");
        }
        break;
      }
    }
  }

 private:
  std::vector<std::string>* problems_;
};

}  // namespace

std::vector<std::string> Verify(const Graph& graph) {
  std::vector<std::string> problems;
  Checker checker(&problems);
  std::unordered_set<const Value*> defined;
  for (const auto& n : graph.nodes()) {
    for (const Value* op : n->operands) {
      if (op == nullptr || !defined.count(op)) {
        problems.push_back(std::string(OpKindName(n->kind)) + " '" + n->name +
                           "': operand used before it is defined");
      }
    }
    checker.Check(*n);
    for (const Value* r : n->results) defined.insert(r);
  }
  if (graph.outputs().empty()) problems.push_back("graph has no outputs");
  return problems;
}

void VerifyOrThrow(const Graph& graph, const std::string& when) {
  const auto problems = Verify(graph);
  if (problems.empty()) return;
  std::ostringstream os;
  os << "IR verifier failed " << when << ": ";
  for (size_t i = 0; i < problems.size() && i < 5; ++i) os << (i ? "; " : "") << problems[i];
  if (problems.size() > 5) os << "; and " << problems.size() - 5 << " more";
  throw Error(os.str());
}

}  // namespace bitjit::ir
