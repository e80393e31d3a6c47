#include "ir/printer.h"

#include <sstream>

namespace bitjit::ir {
namespace {

std::string TypeOf(const Value* v) {
  return std::string(DTypeName(v->dtype)) + v->shape.ToString();
}

std::string AttrText(const Node& n) {
  std::ostringstream os;
  const Attrs& a = n.attrs;
  switch (n.kind) {
    case OpKind::kRmsNorm:
      os << "eps=" << a.eps;
      break;
    case OpKind::kRope:
      os << "heads=" << a.n_head << " head_dim=" << a.head_dim << " base=" << a.rope_base;
      if (a.rope_type != RopeType::kNeox) os << " type=" << RopeTypeName(a.rope_type);
      break;
    case OpKind::kAttention:
      os << "layer=" << a.layer << " heads=" << a.n_head << " kv_heads=" << a.n_head_kv
         << " head_dim=" << a.head_dim;
      break;
    case OpKind::kBitLinear:
      os << "prologue=" << (a.prologue == Prologue::kQuantize ? "quantize" : "rmsnorm_quantize");
      if (a.prologue == Prologue::kRmsNormQuantize) os << " eps=" << a.eps;
      os << " epilogue=" << EpilogueName(a.epilogue);
      if (!a.weight_tiles.empty()) {
        os << " layout=";
        for (size_t i = 0; i < a.weight_tiles.size(); ++i) {
          const WeightTile& t = a.weight_tiles[i];
          os << (i ? "," : "") << t.rows << "r" << t.tokens << "t"
             << (t.codes_per_byte == 5 ? ":1.6b" : ":2b");
        }
      }
      break;
    default:
      break;
  }
  if (n.kind == OpKind::kRope || n.kind == OpKind::kAttention || n.kind == OpKind::kLmHead) {
    os << (os.tellp() > 0 ? " " : "")
       << "numerics=" << (a.numerics == Numerics::kBitnet ? "bitnet" : "f32");
  }
  return os.str();
}

}  // namespace

std::string Print(const Graph& graph) {
  std::ostringstream os;
  os << "graph " << graph.name();
  if (graph.arena_bytes_per_token() > 0)
    os << " (arena " << graph.arena_bytes_per_token() << "*T bytes)";
  os << " {\n";
  for (const auto& np : graph.nodes()) {
    const Node& n = *np;
    os << "  ";
    if (n.kind == OpKind::kOutput) {
      os << "output \"" << n.name << "\" %" << n.operands[0]->id << "\n";
      continue;
    }
    for (size_t i = 0; i < n.results.size(); ++i) os << (i ? ", " : "") << "%" << n.results[i]->id;
    os << " = " << OpKindName(n.kind);
    if (n.kind == OpKind::kInput) {
      os << " \"" << n.name << "\"";
    } else if (n.kind == OpKind::kConstant) {
      os << " " << n.constant.name;
      if (n.result()->dtype == DType::kI2S) os << " (scale " << n.constant.scale << ")";
    }
    for (size_t i = 0; i < n.operands.size(); ++i)
      os << (i ? ", " : " ") << "%" << n.operands[i]->id;
    const std::string attrs = AttrText(n);
    if (!attrs.empty()) os << " {" << attrs << "}";
    os << " : ";
    for (size_t i = 0; i < n.results.size(); ++i) os << (i ? ", " : "") << TypeOf(n.results[i]);
    for (const Value* r : n.results)
      if (r->arena_offset_per_token >= 0) os << " @" << r->arena_offset_per_token << "*T";
    if (n.kind != OpKind::kInput && n.kind != OpKind::kConstant && !n.name.empty()) {
      os << "  # " << n.name;
    }
    os << "\n";
  }
  os << "}\n";
  return os.str();
}

}  // namespace bitjit::ir
