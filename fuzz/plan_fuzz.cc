// libFuzzer target: Model::LoadPlan on structure-aware edits of a valid plan. Once per process
// a tiny synthetic model is written and compiled to a plan (the seed plan and its sidecar);
// each input is read as a list of (field, value) edits applied to the decoded plan::Plan: node
// kinds, operands, result ids / dtypes / dims / arena offsets, attributes, tiles, kernels and
// their sidecar ranges, the arena size, the lm_head tables (quantized, f16 tiles), with extremes (-1, 0, 2^31 - 1,
// 2^63, NaN). The edited plan is written next to the seed's sidecar and loaded; a plan that
// loads runs one 2-token Eval. bitjit::Error is the expected outcome of a bad plan; an ASan /
// UBSan report, crash, abort or hang is a finding.
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "frontend/gguf/gguf_writer.h"
#include "frontend/synth/synthetic_model.h"
#include "ir/base/error.h"
#include "ir/dtype.h"
#include "ir/graph.h"
#include "plan.pb.h"
#include "runtime/model.h"

namespace {

using bitjit::plan::Plan;

struct Seed {
  std::string dir;
  std::string plan_path;  // where each input's plan is written (the sidecar is next to it)
  Plan plan;
  std::vector<std::string> tensors;  // tensor names the seed's constants and kernels use
  std::vector<std::string> kinds, dtypes;
};

bitjit::ModelOptions Options() {
  bitjit::ModelOptions o;
  o.n_threads = 1;
  return o;
}

Seed* MakeSeed() {
  auto* s = new Seed;
  char tmpl[] = "/tmp/bitjit-plan-fuzz.XXXXXX";
  if (!::mkdtemp(tmpl)) std::abort();
  s->dir = tmpl;
  const std::string gguf = s->dir + "/tiny.gguf";
  bitjit::synth::SynthConfig c;
  c.n_embd = 128;
  c.n_ff = 128;
  c.n_layer = 1;
  c.n_head = 2;
  c.n_head_kv = 1;
  c.n_vocab = bitjit::synth::Preset("tiny").n_vocab;
  c.n_ctx = 16;
  {
    bitjit::gguf::FileSink sink(gguf);
    bitjit::synth::WriteSyntheticModel(c, sink);
    sink.Commit();
  }
  const std::string seed_plan = s->dir + "/seed.plan";
  bitjit::Model::Load(gguf, Options())->SavePlan(seed_plan);
  std::ifstream in(seed_plan, std::ios::binary);
  if (!s->plan.ParseFromIstream(&in)) std::abort();
  // Every input's plan is written under the seed's name so that its sidecar field still names
  // the seed's sidecar (seed.plan.weights).
  s->plan_path = seed_plan;
  for (const auto& n : s->plan.nodes())
    if (!n.tensor().empty()) s->tensors.push_back(n.tensor());
  for (const auto& k : s->plan.kernels()) s->tensors.push_back(k.tensor());
  for (int i = 0; i <= static_cast<int>(bitjit::ir::OpKind::kBitLinear); ++i)
    s->kinds.emplace_back(bitjit::ir::OpKindName(static_cast<bitjit::ir::OpKind>(i)));
  for (int i = 0; i <= static_cast<int>(bitjit::ir::DType::kI32); ++i)
    s->dtypes.emplace_back(bitjit::ir::DTypeName(static_cast<bitjit::ir::DType>(i)));
  std::fprintf(stderr, "plan_fuzz: seed plan %s: %d nodes, %d kernels\n", seed_plan.c_str(),
               s->plan.nodes_size(), s->plan.kernels_size());
  return s;
}

const Seed& GetSeed() {
  static const Seed* seed = MakeSeed();
  return *seed;
}

// An integer: an extreme, a small one, the old value nudged, or raw bytes.
int64_t Int(FuzzedDataProvider& f, int64_t old) {
  static constexpr int64_t kExtremes[] = {
      0, 1, -1, 2, -2, 3, 4, 5, 7, 8, 16, 63, 64, 65, 127, 128, 255, 256, 4096,
      std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(),
      int64_t{1} << 31, int64_t{1} << 32, (int64_t{1} << 32) - 1,
      std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(),
      int64_t{1} << 24, (int64_t{1} << 24) + 1, int64_t{1} << 30, (int64_t{1} << 30) + 1,
      (int64_t{1} << 20) - 1, int64_t{1} << 20, -3};
  switch (f.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return kExtremes[f.ConsumeIntegralInRange<size_t>(0, std::size(kExtremes) - 1)];
    case 1: return f.ConsumeIntegralInRange<int64_t>(-4, 300);
    case 2: return static_cast<int64_t>(static_cast<uint64_t>(old) +
                                        static_cast<uint64_t>(f.ConsumeIntegralInRange<int64_t>(-130, 130)));
    default: return f.ConsumeIntegral<int64_t>();
  }
}
int32_t Int32(FuzzedDataProvider& f, int64_t old) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(Int(f, old))));
}
uint64_t UInt(FuzzedDataProvider& f, uint64_t old) {
  if (f.ConsumeBool()) return uint64_t{1} << 63;
  return static_cast<uint64_t>(Int(f, static_cast<int64_t>(old)));
}

float Float(FuzzedDataProvider& f, float old) {
  static constexpr float kExtremes[] = {0.0f, -0.0f, 1.0f, -1.0f, 1e-30f, 1e30f, 0.5f,
                                        std::numeric_limits<float>::quiet_NaN(),
                                        std::numeric_limits<float>::infinity(),
                                        -std::numeric_limits<float>::infinity(),
                                        std::numeric_limits<float>::denorm_min(),
                                        std::numeric_limits<float>::max(), 3e9f, -3e9f};
  switch (f.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: return kExtremes[f.ConsumeIntegralInRange<size_t>(0, std::size(kExtremes) - 1)];
    case 1: return old * f.ConsumeFloatingPointInRange<float>(-4.0f, 4.0f);
    default: return f.ConsumeFloatingPoint<float>();
  }
}

std::string Pick(FuzzedDataProvider& f, const std::vector<std::string>& choices) {
  if (choices.empty() || f.ConsumeIntegralInRange<int>(0, 15) == 0)
    return f.ConsumeRandomLengthString(16);
  return choices[f.ConsumeIntegralInRange<size_t>(0, choices.size() - 1)];
}

template <typename Repeated>
int Index(FuzzedDataProvider& f, const Repeated& r) {
  return r.empty() ? -1 : f.ConsumeIntegralInRange<int>(0, r.size() - 1);
}

// One edit of a repeated integer field: set an element, append, remove the last, clear.
template <typename Repeated, typename Gen>
void EditList(FuzzedDataProvider& f, Repeated* r, Gen gen) {
  switch (f.ConsumeIntegralInRange<int>(0, 5)) {
    case 0: r->Add(gen(0)); break;
    case 1: if (!r->empty()) r->RemoveLast(); break;
    case 2: r->Clear(); break;
    default: {
      const int i = Index(f, *r);
      if (i >= 0) r->Set(i, gen(r->Get(i)));
    }
  }
}

void EditValue(FuzzedDataProvider& f, const Seed& seed, bitjit::plan::Value* v) {
  switch (f.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: v->set_id(Int32(f, v->id())); break;
    case 1: v->set_dtype(Pick(f, seed.dtypes)); break;
    case 2: EditList(f, v->mutable_dims(), [&](int64_t old) { return Int(f, old); }); break;
    default: v->set_arena_offset_per_token(Int(f, v->arena_offset_per_token()));
  }
}

void EditNode(FuzzedDataProvider& f, const Seed& seed, Plan* p, bitjit::plan::Node* n) {
  const std::vector<std::string> rope_types = {"neox", "norm", ""};
  const std::vector<std::string> numerics = {"bitnet", "f32"};
  const std::vector<std::string> prologues = {"quantize", "rmsnorm_quantize"};
  const std::vector<std::string> epilogues = {"none", "residual_add", "silu_mul", "relu_sqr_mul"};
  switch (f.ConsumeIntegralInRange<int>(0, 22)) {
    case 0: n->set_kind(Pick(f, seed.kinds)); break;
    case 1: n->set_name(f.ConsumeRandomLengthString(8)); break;
    case 2: case 3: case 4:
      EditList(f, n->mutable_operands(), [&](int32_t old) {
        // Mostly another node's result id, so the graph still parses and checks go deeper.
        if (f.ConsumeBool() && p->nodes_size() > 0) {
          const auto& other = p->nodes(f.ConsumeIntegralInRange<int>(0, p->nodes_size() - 1));
          if (other.results_size() > 0) return other.results(0).id();
        }
        return Int32(f, old);
      });
      break;
    case 5: case 6: case 7: case 8: {
      if (n->results_size() == 0 || f.ConsumeIntegralInRange<int>(0, 7) == 0) {
        if (f.ConsumeBool() || n->results_size() == 0) {
          *n->add_results() = n->results_size() ? n->results(0) : bitjit::plan::Value();
        } else {
          n->mutable_results()->RemoveLast();
        }
      } else {
        EditValue(f, seed, n->mutable_results(Index(f, n->results())));
      }
      break;
    }
    case 9: n->set_eps(Float(f, n->eps())); break;
    case 10: n->set_rope_base(Float(f, n->rope_base())); break;
    case 11: n->set_layer(Int32(f, n->layer())); break;
    case 12: n->set_n_head(Int32(f, n->n_head())); break;
    case 13: n->set_n_head_kv(Int32(f, n->n_head_kv())); break;
    case 14: n->set_head_dim(Int32(f, n->head_dim())); break;
    case 15: n->set_numerics(Pick(f, numerics)); break;
    case 16: n->set_prologue(Pick(f, prologues)); break;
    case 17: n->set_epilogue(Pick(f, epilogues)); break;
    case 18: n->set_n_weights(Int32(f, n->n_weights())); break;
    case 19: n->set_tensor(Pick(f, seed.tensors)); break;
    case 20: EditList(f, n->mutable_tile_rows(), [&](int32_t o) { return Int32(f, o); }); break;
    case 21: EditList(f, n->mutable_tile_tokens(), [&](int32_t o) { return Int32(f, o); }); break;
    default:
      EditList(f, n->mutable_tile_codes_per_byte(), [&](int32_t o) { return Int32(f, o); });
  }
}

void EditKernel(FuzzedDataProvider& f, const Seed& seed, bitjit::plan::TernaryKernel* k) {
  switch (f.ConsumeIntegralInRange<int>(0, 10)) {
    case 0: k->set_tensor(Pick(f, seed.tensors)); break;
    case 1: k->set_k(Int(f, k->k())); break;
    case 2: k->set_n(Int(f, k->n())); break;
    case 3: k->set_tile_rows(Int32(f, k->tile_rows())); break;
    case 4: k->set_tile_tokens(Int32(f, k->tile_tokens())); break;
    case 5: k->set_scale(Float(f, k->scale())); break;
    case 6: k->set_sidecar_offset(UInt(f, k->sidecar_offset())); break;
    case 7: k->set_sidecar_bytes(UInt(f, k->sidecar_bytes())); break;
    case 8: k->set_decode_tasks_per_thread(Int32(f, k->decode_tasks_per_thread())); break;
    case 9: k->set_prefill_tasks_per_thread(Int32(f, k->prefill_tasks_per_thread())); break;
    default: k->set_codes_per_byte(Int32(f, k->codes_per_byte()));
  }
}

void EditPlan(FuzzedDataProvider& f, const Seed& seed, Plan* p) {
  switch (f.ConsumeIntegralInRange<int>(0, 21)) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: {
      const int i = Index(f, p->nodes());
      if (i >= 0) EditNode(f, seed, p, p->mutable_nodes(i));
      break;
    }
    case 7: case 8: {
      const int i = Index(f, p->kernels());
      if (i >= 0) EditKernel(f, seed, p->mutable_kernels(i));
      break;
    }
    case 9: p->set_arena_bytes_per_token(Int(f, p->arena_bytes_per_token())); break;
    case 10: {  // structure: drop, duplicate or swap nodes
      const int i = Index(f, p->nodes()), j = Index(f, p->nodes());
      if (i < 0) break;
      switch (f.ConsumeIntegralInRange<int>(0, 2)) {
        case 0: p->mutable_nodes()->DeleteSubrange(i, 1); break;
        case 1: *p->add_nodes() = p->nodes(i); break;
        default: p->mutable_nodes()->SwapElements(i, j);
      }
      break;
    }
    case 11: {  // the same for kernels
      const int i = Index(f, p->kernels()), j = Index(f, p->kernels());
      if (i < 0) break;
      switch (f.ConsumeIntegralInRange<int>(0, 2)) {
        case 0: p->mutable_kernels()->DeleteSubrange(i, 1); break;
        case 1: *p->add_kernels() = p->kernels(i); break;
        default: p->mutable_kernels()->SwapElements(i, j);
      }
      break;
    }
    case 12: p->set_sidecar_size(UInt(f, p->sidecar_size())); break;
    case 13: p->set_sidecar(Pick(f, {"seed.plan.weights", "", ".", "..", "tiny.gguf",
                                     "seed.plan", "/dev/zero", "missing"}));
      break;
    case 14: p->set_numerics(Pick(f, {"bitnet", "f32"})); break;
    case 15: p->mutable_cpu()->set_isa(Pick(f, {"ref", "avx2", "avx512", "avx512vnni", "avxvnni"}));
      break;
    case 16: p->set_format_version(static_cast<uint32_t>(Int(f, p->format_version()))); break;
    case 17: case 18: {  // --lm-head tables
      auto* lm = p->mutable_lm_head();
      switch (f.ConsumeIntegralInRange<int>(0, 5)) {
        case 0: lm->set_type(Pick(f, {"q8_0", "q6_k", "f16", ""})); break;
        case 1: lm->set_n(Int(f, lm->n())); break;
        case 2: lm->set_vocab(Int(f, lm->vocab())); break;
        case 3: lm->set_sidecar_offset(UInt(f, lm->sidecar_offset())); break;
        case 4: lm->set_sidecar_bytes(UInt(f, lm->sidecar_bytes())); break;
        default: p->clear_lm_head();
      }
      break;
    }
    case 19: case 20: {  // the f16 lm_head in its GEMV's tiles
      auto* t = p->mutable_f16_lm_head();
      switch (f.ConsumeIntegralInRange<int>(0, 6)) {
        case 0: t->set_n(Int(f, t->n())); break;
        case 1: t->set_vocab(Int(f, t->vocab())); break;
        case 2: t->set_tile_rows(Int32(f, t->tile_rows())); break;
        case 3: t->set_block_lanes(Int32(f, t->block_lanes())); break;
        case 4: t->set_sidecar_offset(UInt(f, t->sidecar_offset())); break;
        case 5: t->set_sidecar_bytes(UInt(f, t->sidecar_bytes())); break;
        default: p->clear_f16_lm_head();
      }
      break;
    }
    default: p->mutable_model()->set_size(UInt(f, p->model().size()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  GetSeed();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Seed& seed = GetSeed();
  FuzzedDataProvider f(data, size);
  Plan p = seed.plan;
  for (int edits = 0; edits < 32 && f.remaining_bytes() > 0; ++edits) EditPlan(f, seed, &p);
  {
    std::ofstream out(seed.plan_path, std::ios::binary | std::ios::trunc);
    if (!p.SerializeToOstream(&out)) std::abort();
  }
  try {
    bitjit::ModelOptions o = Options();
    o.lm_head = "";  // the plan's
    auto model = bitjit::Model::LoadPlan(seed.plan_path, o);
    bitjit::Session s(*model, 8, 1);
    std::vector<float> logits;
    const int32_t tokens[] = {1, 2};
    s.Eval(tokens, false, &logits);
    if (logits.size() != static_cast<size_t>(model->config().n_vocab)) std::abort();
  } catch (const bitjit::Error&) {
  }
  return 0;
}
