#include "runtime/plan/graph_proto.h"

#include <unordered_map>

#include "frontend/lowering/tensor_constant.h"
#include "ir/base/error.h"
#include "ir/verifier.h"

namespace bitjit {
namespace {

using ir::Epilogue;
using ir::Numerics;
using ir::OpKind;
using ir::Prologue;

constexpr auto kLastKind = static_cast<OpKind>(ir::kOpKindCount - 1);  // ir/op_kinds.h

template <typename Enum>
Enum ParseEnum(const std::string& text, int last, std::string_view (*name)(Enum),
               const char* what) {
  for (int i = 0; i <= last; ++i)
    if (name(static_cast<Enum>(i)) == text) return static_cast<Enum>(i);
  Fail("plan: unknown ", what, " '", text, "'");
}

std::string_view DTypeNameOf(ir::DType t) {
  return ir::DTypeName(t);
}
std::string_view NumericsName(Numerics n) {
  return n == Numerics::kBitnet ? "bitnet" : "f32";
}
std::string_view PrologueName(Prologue p) {
  return p == Prologue::kQuantize ? "quantize" : "rmsnorm_quantize";
}

}  // namespace

void GraphToProto(const ir::Graph& graph, plan::Plan* out) {
  out->set_arena_bytes_per_token(graph.arena_bytes_per_token());
  for (const auto& n : graph.nodes()) {
    plan::Node* p = out->add_nodes();
    p->set_kind(std::string(ir::OpKindName(n->kind)));
    p->set_name(n->name);
    for (const ir::Value* op : n->operands) p->add_operands(op->id);
    for (const ir::Value* r : n->results) {
      plan::Value* v = p->add_results();
      v->set_id(r->id);
      v->set_dtype(std::string(ir::DTypeName(r->dtype)));
      for (int64_t d : r->shape.dims()) v->add_dims(d);
      v->set_arena_offset_per_token(r->arena_offset_per_token);
    }
    const ir::Attrs& a = n->attrs;
    p->set_eps(a.eps);
    p->set_rope_base(a.rope_base);
    if (a.rope_type != ir::RopeType::kNeox)
      p->set_rope_type(std::string(ir::RopeTypeName(a.rope_type)));
    p->set_layer(a.layer);
    p->set_n_head(a.n_head);
    p->set_n_head_kv(a.n_head_kv);
    p->set_head_dim(a.head_dim);
    p->set_numerics(std::string(NumericsName(a.numerics)));
    p->set_prologue(std::string(PrologueName(a.prologue)));
    p->set_epilogue(std::string(ir::EpilogueName(a.epilogue)));
    p->set_n_weights(a.n_weights);
    if (n->kind == OpKind::kConstant) p->set_tensor(n->constant.name);
    for (const ir::WeightTile& t : a.weight_tiles) {
      p->add_tile_rows(t.rows);
      p->add_tile_tokens(t.tokens);
      p->add_tile_codes_per_byte(t.codes_per_byte);
    }
  }
}

std::unique_ptr<ir::Graph> GraphFromProto(const plan::Plan& plan, const gguf::GgufFile& file) {
  auto g = std::make_unique<ir::Graph>("bitnet-b1.58");
  std::unordered_map<int32_t, ir::Value*> values;
  for (const plan::Node& p : plan.nodes()) {
    const OpKind kind =
        ParseEnum<OpKind>(p.kind(), static_cast<int>(kLastKind), ir::OpKindName, "op");
    std::vector<ir::Value*> operands;
    for (int32_t id : p.operands()) {
      auto it = values.find(id);
      if (it == values.end()) Fail("plan: node '", p.name(), "' uses undefined value %", id);
      operands.push_back(it->second);
    }
    ir::Attrs a;
    a.eps = p.eps();
    a.rope_base = p.rope_base();
    a.rope_type = ParseEnum<ir::RopeType>(p.rope_type().empty() ? "neox" : p.rope_type(), 1,
                                          ir::RopeTypeName, "rope type");
    a.layer = p.layer();
    a.n_head = p.n_head();
    a.n_head_kv = p.n_head_kv();
    a.head_dim = p.head_dim();
    a.numerics = p.numerics() == "f32" ? Numerics::kF32 : Numerics::kBitnet;
    a.prologue =
        p.prologue() == "rmsnorm_quantize" ? Prologue::kRmsNormQuantize : Prologue::kQuantize;
    a.epilogue = ParseEnum<Epilogue>(p.epilogue(), static_cast<int>(Epilogue::kSiluMul),
                                     ir::EpilogueName, "epilogue");
    a.n_weights = p.n_weights();
    // The verifier counts the operands a bitlinear needs from it (plan_fuzz: 2^31 - 1 weights
    // overflowed that sum) and checks nothing else of one without weights (plan_fuzz: a rank-1
    // input read as 2-D); no node has more weights than operands.
    const int min_weights = kind == OpKind::kBitLinear ? 1 : 0;
    if (a.n_weights < min_weights || a.n_weights > p.operands_size()) {
      Fail("plan: node '", p.name(), "' has ", a.n_weights, " weights for ", p.operands_size(),
           " operands", kind == OpKind::kBitLinear ? " (a bitlinear has at least one)" : "");
    }
    // Plans from before 1.6-bit packing list no codes per byte: all 2 bits.
    if (p.tile_rows_size() != p.tile_tokens_size() ||
        (p.tile_codes_per_byte_size() != 0 && p.tile_codes_per_byte_size() != p.tile_rows_size()))
      Fail("plan: node '", p.name(), "' has bad tiles");
    for (int i = 0; i < p.tile_rows_size(); ++i) {
      const int per_byte = p.tile_codes_per_byte_size() ? p.tile_codes_per_byte(i) : 4;
      a.weight_tiles.push_back({p.tile_rows(i), p.tile_tokens(i), per_byte});
    }
    std::vector<std::pair<ir::DType, ir::Shape>> types;
    for (const plan::Value& v : p.results()) {
      types.push_back(
          {ParseEnum<ir::DType>(v.dtype(), static_cast<int>(ir::DType::kI32), DTypeNameOf, "dtype"),
           ir::Shape(std::vector<int64_t>(v.dims().begin(), v.dims().end()))});
    }
    ir::Node* n = g->AddNode(kind, p.name(), operands, types, a);
    if (kind == OpKind::kConstant) {
      // Checked here, not by the verifier: the tensor is compared with the result before it runs.
      if (n->results.size() != 1) {
        Fail("plan: constant '", p.name(), "' has ", n->results.size(), " results (expected 1)");
      }
      TensorConstant t = MakeTensorConstant(file, p.tensor());
      if (t.dtype != n->result()->dtype || t.shape != n->result()->shape) {
        Fail("plan: tensor ", p.tensor(), " of the model does not match the plan's ",
             n->result()->shape.ToString());
      }
      n->constant = t.data;
    }
    for (int i = 0; i < p.results_size(); ++i) {
      n->results[i]->arena_offset_per_token = p.results(i).arena_offset_per_token();
      if (!values.emplace(p.results(i).id(), n->results[i]).second) {
        Fail("plan: value %", p.results(i).id(), " is defined twice");
      }
    }
  }
  g->set_arena_bytes_per_token(plan.arena_bytes_per_token());
  // Keep the ids the plan was written with (the arena and kernels were planned on them).
  for (auto& [id, v] : values) v->id = id;
  ir::VerifyOrThrow(*g, "in plan");
  return g;
}

}  // namespace bitjit
