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

  // The results a kind's builder in graph.cc gives: a graph read from a plan carries its own
  // result types, and each kernel writes what its operands imply, not what the result says.
  void ExpectResults(const Node& n, const std::vector<std::pair<DType, Shape>>& want) {
    bool ok = n.results.size() == want.size();
    for (size_t i = 0; ok && i < want.size(); ++i) {
      ok = n.results[i]->dtype == want[i].first && n.results[i]->shape == want[i].second;
    }
    if (ok) return;
    std::string expected;
    for (const auto& [dtype, shape] : want) {
      expected += (expected.empty() ? "" : ", ") + std::string(DTypeName(dtype)) + shape.ToString();
    }
    Expect(false, n, "results must be (" + expected + ")");
  }

  void Check(const Node& n) {
    const auto& ops = n.operands;
    auto arity = [&](size_t k) {
      Expect(ops.size() == k, n, "expects " + std::to_string(k) + " operands");
      return ops.size() == k;
    };
    auto is = [](const Value* v, DType t) { return v->dtype == t; };
    auto rows_of = [](const Value* v) { return v->shape[0]; };
    // Checked before any dimension is read: a plan may give any value any rank.
    auto ranks = [&](std::initializer_list<int> want) {
      size_t i = 0;
      for (int r : want) {
        if (ops[i]->shape.rank() != r) {
          Expect(false, n, "operand " + std::to_string(i) + " must have rank " + std::to_string(r));
          return false;
        }
        ++i;
      }
      return true;
    };
    switch (n.kind) {
      case OpKind::kInput:
        Expect(ops.empty() && n.results.size() == 1, n, "an input has no operands, one result");
        break;
      case OpKind::kConstant:
        Expect(n.constant.data != nullptr, n, "constant without data");
        break;
      case OpKind::kEmbedding:
        if (!arity(2) || !ranks({2, 1})) return;
        Expect(is(ops[0], DType::kF16) || is(ops[0], DType::kQ8_0) || is(ops[0], DType::kQ6_K), n,
               "table must be f16, q8_0 or q6_k");
        Expect(is(ops[1], DType::kI32), n, "ids must be i32[N]");
        ExpectResults(n, {{DType::kF32, Shape{ops[1]->shape[0], ops[0]->shape[1]}}});
        break;
      case OpKind::kRmsNorm:
      case OpKind::kReluSqr:
      case OpKind::kSilu:
        if (!arity(1)) return;
        Expect(is(ops[0], DType::kF32) && ops[0]->shape.rank() == 2, n, "operand must be f32 2-D");
        ExpectResults(n, {{DType::kF32, ops[0]->shape}});
        if (n.kind == OpKind::kRmsNorm) Expect(n.attrs.eps > 0, n, "eps must be positive");
        break;
      case OpKind::kMul:
      case OpKind::kAdd:
        if (!arity(2)) return;
        Expect(is(ops[0], DType::kF32) && is(ops[1], DType::kF32), n, "operands must be f32");
        Expect(ops[0]->shape.rank() >= 1 &&
                   (ops[1]->shape == ops[0]->shape ||
                    (ops[1]->shape.rank() == 1 && ops[1]->shape[0] == ops[0]->shape.back())),
               n,
               "shapes " + ops[0]->shape.ToString() + " and " + ops[1]->shape.ToString() +
                   " do not broadcast");
        ExpectResults(n, {{DType::kF32, ops[0]->shape}});
        break;
      case OpKind::kQuantizeAct:
        if (!arity(1) || !ranks({2})) return;
        Expect(is(ops[0], DType::kF32), n, "operand must be f32");
        ExpectResults(n, {{DType::kI8, ops[0]->shape}, {DType::kF32, Shape{rows_of(ops[0])}}});
        break;
      case OpKind::kTernaryMatmul:
        if (!arity(3) || !ranks({2, 1, 2})) return;
        Expect(is(ops[0], DType::kI8) && is(ops[1], DType::kF32) && is(ops[2], DType::kI2S), n,
               "operands must be (i8 codes, f32 scales, i2_s weight)");
        Expect(ops[0]->shape.back() == ops[2]->shape[1], n,
               "inner dimensions differ: " + ops[0]->shape.ToString() + " x " +
                   ops[2]->shape.ToString());
        Expect(rows_of(ops[1]) == rows_of(ops[0]), n, "one scale per row");
        ExpectResults(n, {{DType::kF32, Shape{rows_of(ops[0]), ops[2]->shape[0]}}});
        break;
      case OpKind::kRope:
        if (!arity(2) || !ranks({2, 1})) return;
        Expect(n.attrs.head_dim > 0 && n.attrs.head_dim % 2 == 0, n, "head_dim must be even");
        Expect(ops[0]->shape.back() == int64_t{n.attrs.n_head} * n.attrs.head_dim, n,
               "width must be n_head * head_dim");
        Expect(is(ops[1], DType::kI32) && rows_of(ops[1]) == rows_of(ops[0]), n,
               "positions must be i32, one per row");
        ExpectResults(n, {{DType::kF32, ops[0]->shape}});
        break;
      case OpKind::kAttention: {
        if (!arity(4) || !ranks({2, 2, 2, 1})) return;
        const Attrs& a = n.attrs;
        Expect(a.layer >= 0 && a.n_head > 0 && a.head_dim > 0 && a.n_head_kv > 0 &&
                   a.n_head % a.n_head_kv == 0,
               n, "bad heads");
        Expect(ops[0]->shape.back() == int64_t{a.n_head} * a.head_dim, n, "q width");
        Expect(ops[1]->shape.back() == int64_t{a.n_head_kv} * a.head_dim, n, "k width");
        Expect(ops[2]->shape.back() == int64_t{a.n_head_kv} * a.head_dim, n, "v width");
        Expect(rows_of(ops[1]) == rows_of(ops[0]) && rows_of(ops[2]) == rows_of(ops[0]) &&
                   rows_of(ops[3]) == rows_of(ops[0]),
               n, "q, k, v and positions must have one row per token");
        Expect(is(ops[3], DType::kI32), n, "positions must be i32");
        ExpectResults(n, {{DType::kF32, ops[0]->shape}});
        break;
      }
      case OpKind::kGatherRows:
        if (!arity(2) || !ranks({2, 1})) return;
        Expect(is(ops[1], DType::kI32), n, "row indices must be i32");
        ExpectResults(n, {{DType::kF32, Shape{rows_of(ops[1]), ops[0]->shape[1]}}});
        break;
      case OpKind::kLmHead:
        if (!arity(2) || !ranks({2, 2})) return;
        Expect(is(ops[1], DType::kF16) || is(ops[1], DType::kQ8_0) || is(ops[1], DType::kQ6_K), n,
               "table must be f16, q8_0 or q6_k");
        Expect(ops[0]->shape.back() == ops[1]->shape[1], n, "inner dimensions differ");
        ExpectResults(n, {{DType::kF32, Shape{rows_of(ops[0]), ops[1]->shape[0]}}});
        break;
      case OpKind::kOutput:
        arity(1);
        Expect(n.results.empty(), n, "an output has no results");
        break;
      case OpKind::kBitLinear: {
        const Attrs& a = n.attrs;
        const size_t expect = 1 + (a.prologue == Prologue::kRmsNormQuantize) + a.n_weights +
                              (a.epilogue == Epilogue::kResidualAdd);
        if (!arity(expect) || a.n_weights < 1) return;
        const Value* x = n.bl_input();
        Expect(is(x, DType::kF32) && x->shape.rank() == 2, n, "input must be f32 2-D");
        if (x->shape.rank() != 2) return;
        if (const Value* w = n.bl_norm()) {
          Expect(is(w, DType::kF32) && w->shape == Shape{x->shape[1]}, n, "norm weight shape");
          Expect(a.eps > 0, n, "eps must be positive");
        }
        bool weights_ok = true;
        for (int i = 0; i < a.n_weights; ++i) {
          const Value* w = n.bl_weight(i);
          const bool ok = is(w, DType::kI2S) && w->shape.rank() == 2 && w->shape[1] == x->shape[1];
          Expect(
              ok, n,
              "weight " + std::to_string(i) + " must be i2_s[N, " + x->shape.ToString() + "[1]]");
          weights_ok &= ok;
        }
        Expect(a.weight_tiles.empty() || static_cast<int>(a.weight_tiles.size()) == a.n_weights, n,
               "one layout per weight");
        for (const WeightTile& t : a.weight_tiles) {
          Expect(t.codes_per_byte == 4 || t.codes_per_byte == 5, n,
                 "weight layout with " + std::to_string(t.codes_per_byte) + " codes per byte");
        }
        if (!weights_ok) return;
        if (a.epilogue == Epilogue::kReluSqrMul || a.epilogue == Epilogue::kSiluMul) {
          Expect(a.n_weights == 2 && n.bl_weight(0)->shape == n.bl_weight(1)->shape, n,
                 std::string(EpilogueName(a.epilogue)) + " needs two weights of one shape");
        }
        if (const Value* r = n.bl_residual()) {
          Expect(n.results.size() == 1 && r->shape == n.result()->shape, n,
                 "residual shape must match the result");
        }
        // As Graph::BitLinear makes them: one result per weight, or one for a fused epilogue.
        std::vector<std::pair<DType, Shape>> want;
        for (int i = 0; i < (a.epilogue == Epilogue::kNone ? a.n_weights : 1); ++i) {
          want.push_back({DType::kF32, Shape{rows_of(x), n.bl_weight(i)->shape[0]}});
        }
        ExpectResults(n, want);
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
