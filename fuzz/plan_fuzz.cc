// libFuzzer target: Model::LoadPlan on structure-aware edits of valid plans. Once, in
// LLVMFuzzerInitialize, three tiny synthetic models are written to a tmpfs folder and compiled
// to four seed plans (f16 / q8_0 / q6_k lm_head, 2-bit and 1.6-bit weights, three ISAs), each with
// its sidecar in a folder of its own. Each input picks a seed and reads as a list of (field,
// value) edits applied to its decoded plan::Plan: node kinds, operands, result ids / dtypes /
// dims / arena offsets, attributes (layer, heads, rope), tiles, kernels and their sidecar
// ranges, the arena size, the lm_head tables, with extremes (-1, 0, 2^31 - 1, 2^63, NaN) and
// the seeds' own offsets and sizes; sometimes a few raw bytes of the serialized plan are
// changed too. The plan is written next to the seed's sidecar and loaded by the production
// loader; a plan that loads runs a decode step, a prefill, or both. bitjit::Error is the expected
// outcome of a bad plan; an ASan / UBSan report, crash, abort or hang is a finding.
//
// Speed (fuzz/README.md): the GGUFs and seed plans are built once; the plan files live on
// tmpfs; the kernels the seeds need are JIT-compiled once and then come from the kernel cache;
// the models have the smallest vocabulary synth writes, so opening one is cheap.
#include <fcntl.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <google/protobuf/arena.h>
#include <google/protobuf/stubs/logging.h>
#include <sys/stat.h>
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

#include "codegen/cpu_features.h"
#include "frontend/gguf/gguf_writer.h"
#include "frontend/synth/builtin_vocab.h"
#include "frontend/synth/synthetic_model.h"
#include "ir/base/error.h"
#include "ir/dtype.h"
#include "ir/graph.h"
#include "plan.pb.h"
#include "runtime/model.h"

namespace {

using bitjit::plan::Plan;

// One compiled plan and the folder that holds it, its sidecar and each input's plan.
struct Seed {
  std::string input_path;  // where each input's plan is written (next to the sidecar)
  Plan plan;
};

struct Seeds {
  std::string dir;
  std::vector<Seed> seeds;
  // What edits pick from: the seeds' tensor names, op kinds, dtypes, and every sidecar offset
  // and size they hold (a kernel pointed at another's bytes gets past the bounds check).
  std::vector<std::string> tensors, kinds, dtypes;
  std::vector<uint64_t> sidecar_numbers;
};

const Seeds& GetSeeds();

bitjit::ModelOptions Options() {
  bitjit::ModelOptions o;
  o.n_threads = 1;
  return o;
}

// A tmpfs folder when there is one: each input writes its plan there.
std::string WorkFolder() {
  struct stat st {};
  const std::string base =
      ::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
  std::string tmpl = base + "/bitjit-plan-fuzz.XXXXXX";
  if (!::mkdtemp(tmpl.data())) std::abort();
  return tmpl;
}

// The smallest model the kernels take (n_embd 128; q6_k tables need 256), with the smallest
// vocabulary: opening it (the tokenizer) is most of what a rejected plan costs.
std::string WriteModel(const std::string& dir, const char* name, int64_t n_embd, bool f16_table) {
  bitjit::synth::SynthConfig c;
  c.n_embd = n_embd;
  c.n_ff = 128;
  c.n_layer = 1;
  c.n_head = 2;
  c.n_head_kv = 1;
  c.n_vocab = bitjit::synth::kMinVocab;
  c.n_ctx = 16;
  // The f16 table is the one a plan stores in its GEMV's tiles (f16_lm_head); n_embd 128
  // would otherwise get Q8_0.
  if (f16_table) c.token_embd_type = bitjit::gguf::GgmlType::kF16;
  const std::string path = dir + "/" + name;
  bitjit::gguf::FileSink sink(path);
  bitjit::synth::WriteSyntheticModel(c, sink);
  sink.Commit();
  return path;
}

Seeds* MakeSeeds() {
  auto* s = new Seeds;
  s->dir = WorkFolder();
  std::atexit([] { std::filesystem::remove_all(GetSeeds().dir); });
  const std::string f16 = WriteModel(s->dir, "f16.gguf", 128, true);
  const std::string q8 = WriteModel(s->dir, "q8_0.gguf", 128, false);
  const std::string wide = WriteModel(s->dir, "wide.gguf", 256, true);
  struct Variant {
    const std::string& model;
    const char *isa, *lm_head, *packing;
  };
  const Variant variants[] = {{f16, "", "f16", "auto"},
                              {f16, "", "q8_0", "2bit"},
                              {wide, "avx2", "q6_k", "auto"},
                              {q8, "avx512", "f16", "2bit"}};
  for (const Variant& v : variants) {
    bitjit::ModelOptions o = Options();
    o.isa = v.isa;
    o.lm_head = v.lm_head;
    o.ternary_packing = v.packing;
    if (!o.isa.empty() && !bitjit::codegen::IsaSupported(bitjit::codegen::ParseIsa(o.isa)))
      continue;
    const std::string dir = s->dir + "/seed" + std::to_string(s->seeds.size());
    std::filesystem::create_directory(dir);
    bitjit::Model::Load(v.model, o)->SavePlan(dir + "/seed.plan");
    Seed seed;
    std::ifstream in(dir + "/seed.plan", std::ios::binary);
    if (!seed.plan.ParseFromIstream(&in)) std::abort();
    seed.input_path = dir + "/input.plan";
    s->seeds.push_back(std::move(seed));
  }
  for (const Seed& seed : s->seeds) {
    const Plan& p = seed.plan;
    for (const auto& n : p.nodes())
      if (!n.tensor().empty()) s->tensors.push_back(n.tensor());
    for (const auto& k : p.kernels()) {
      s->tensors.push_back(k.tensor());
      s->sidecar_numbers.push_back(k.sidecar_offset());
      s->sidecar_numbers.push_back(k.sidecar_bytes());
    }
    for (uint64_t x :
         {p.lm_head().sidecar_offset(), p.lm_head().sidecar_bytes(),
          p.f16_lm_head().sidecar_offset(), p.f16_lm_head().sidecar_bytes(), p.sidecar_size()})
      s->sidecar_numbers.push_back(x);
    std::fprintf(stderr, "plan_fuzz: seed %s: isa %s, lm_head %s, %d nodes, %d kernels\n",
                 seed.input_path.c_str(), p.cpu().isa().c_str(),
                 p.has_lm_head() ? p.lm_head().type().c_str() : "f16", p.nodes_size(),
                 p.kernels_size());
  }
  for (int i = 0; i <= static_cast<int>(bitjit::ir::OpKind::kBitLinear); ++i)
    s->kinds.emplace_back(bitjit::ir::OpKindName(static_cast<bitjit::ir::OpKind>(i)));
  for (int i = 0; i <= static_cast<int>(bitjit::ir::DType::kI32); ++i)
    s->dtypes.emplace_back(bitjit::ir::DTypeName(static_cast<bitjit::ir::DType>(i)));
  return s;
}

const Seeds& GetSeeds() {
  static const Seeds* seeds = MakeSeeds();
  return *seeds;
}

// An integer: an extreme, a small one, the old value nudged, or raw bytes.
int64_t Int(FuzzedDataProvider& f, int64_t old) {
  static constexpr int64_t kExtremes[] = {0,
                                          1,
                                          -1,
                                          2,
                                          -2,
                                          3,
                                          4,
                                          5,
                                          7,
                                          8,
                                          16,
                                          63,
                                          64,
                                          65,
                                          127,
                                          128,
                                          255,
                                          256,
                                          4096,
                                          std::numeric_limits<int32_t>::max(),
                                          std::numeric_limits<int32_t>::min(),
                                          int64_t{1} << 31,
                                          int64_t{1} << 32,
                                          (int64_t{1} << 32) - 1,
                                          std::numeric_limits<int64_t>::max(),
                                          std::numeric_limits<int64_t>::min(),
                                          int64_t{1} << 24,
                                          (int64_t{1} << 24) + 1,
                                          int64_t{1} << 30,
                                          (int64_t{1} << 30) + 1,
                                          (int64_t{1} << 20) - 1,
                                          int64_t{1} << 20,
                                          -3};
  switch (f.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return kExtremes[f.ConsumeIntegralInRange<size_t>(0, std::size(kExtremes) - 1)];
    case 1:
      return f.ConsumeIntegralInRange<int64_t>(-4, 300);
    case 2:
      return static_cast<int64_t>(
          static_cast<uint64_t>(old) +
          static_cast<uint64_t>(f.ConsumeIntegralInRange<int64_t>(-130, 130)));
    default:
      return f.ConsumeIntegral<int64_t>();
  }
}
int32_t Int32(FuzzedDataProvider& f, int64_t old) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(Int(f, old))));
}
uint64_t UInt(FuzzedDataProvider& f, uint64_t old) {
  if (f.ConsumeBool()) return uint64_t{1} << 63;
  return static_cast<uint64_t>(Int(f, static_cast<int64_t>(old)));
}
// A sidecar offset or size: often one the seeds hold (another table's, or the sidecar's
// size), give or take one alignment step, so that range checks see plausible numbers.
uint64_t SidecarNumber(FuzzedDataProvider& f, const Seeds& seeds, uint64_t old) {
  const auto& known = seeds.sidecar_numbers;
  if (known.empty() || f.ConsumeBool()) return UInt(f, old);
  const uint64_t x = known[f.ConsumeIntegralInRange<size_t>(0, known.size() - 1)];
  static constexpr int64_t kNudges[] = {0, 0, 64, -64, 1, -1};
  return x + static_cast<uint64_t>(kNudges[f.ConsumeIntegralInRange<size_t>(0, 5)]);
}

float Float(FuzzedDataProvider& f, float old) {
  static constexpr float kExtremes[] = {0.0f,
                                        -0.0f,
                                        1.0f,
                                        -1.0f,
                                        1e-30f,
                                        1e30f,
                                        0.5f,
                                        std::numeric_limits<float>::quiet_NaN(),
                                        std::numeric_limits<float>::infinity(),
                                        -std::numeric_limits<float>::infinity(),
                                        std::numeric_limits<float>::denorm_min(),
                                        std::numeric_limits<float>::max(),
                                        3e9f,
                                        -3e9f};
  switch (f.ConsumeIntegralInRange<int>(0, 2)) {
    case 0:
      return kExtremes[f.ConsumeIntegralInRange<size_t>(0, std::size(kExtremes) - 1)];
    case 1:
      return old * f.ConsumeFloatingPointInRange<float>(-4.0f, 4.0f);
    default:
      return f.ConsumeFloatingPoint<float>();
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
    case 0:
      r->Add(gen(0));
      break;
    case 1:
      if (!r->empty()) r->RemoveLast();
      break;
    case 2:
      r->Clear();
      break;
    default: {
      const int i = Index(f, *r);
      if (i >= 0) r->Set(i, gen(r->Get(i)));
    }
  }
}

void EditValue(FuzzedDataProvider& f, const Seeds& seeds, bitjit::plan::Value* v) {
  switch (f.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      v->set_id(Int32(f, v->id()));
      break;
    case 1:
      v->set_dtype(Pick(f, seeds.dtypes));
      break;
    case 2:
      EditList(f, v->mutable_dims(), [&](int64_t old) { return Int(f, old); });
      break;
    default:
      v->set_arena_offset_per_token(Int(f, v->arena_offset_per_token()));
  }
}

void EditNode(FuzzedDataProvider& f, const Seeds& seeds, Plan* p, bitjit::plan::Node* n) {
  const std::vector<std::string> rope_types = {"neox", "norm", ""};
  const std::vector<std::string> numerics = {"bitnet", "f32"};
  const std::vector<std::string> prologues = {"quantize", "rmsnorm_quantize"};
  const std::vector<std::string> epilogues = {"none", "residual_add", "silu_mul", "relu_sqr_mul"};
  switch (f.ConsumeIntegralInRange<int>(0, 23)) {
    case 0:
      n->set_kind(Pick(f, seeds.kinds));
      break;
    case 1:
      n->set_name(f.ConsumeRandomLengthString(8));
      break;
    case 2:
    case 3:
    case 4:
      EditList(f, n->mutable_operands(), [&](int32_t old) {
        // Mostly another node's result id, so the graph still parses and checks go deeper.
        if (f.ConsumeBool() && p->nodes_size() > 0) {
          const auto& other = p->nodes(f.ConsumeIntegralInRange<int>(0, p->nodes_size() - 1));
          if (other.results_size() > 0) return other.results(0).id();
        }
        return Int32(f, old);
      });
      break;
    case 5:
    case 6:
    case 7:
    case 8: {
      if (n->results_size() == 0 || f.ConsumeIntegralInRange<int>(0, 7) == 0) {
        if (f.ConsumeBool() || n->results_size() == 0) {
          *n->add_results() = n->results_size() ? n->results(0) : bitjit::plan::Value();
        } else {
          n->mutable_results()->RemoveLast();
        }
      } else {
        EditValue(f, seeds, n->mutable_results(Index(f, n->results())));
      }
      break;
    }
    case 9:
      n->set_eps(Float(f, n->eps()));
      break;
    case 10:
      n->set_rope_base(Float(f, n->rope_base()));
      break;
    case 11:
      n->set_layer(Int32(f, n->layer()));
      break;
    case 12:
      n->set_n_head(Int32(f, n->n_head()));
      break;
    case 13:
      n->set_n_head_kv(Int32(f, n->n_head_kv()));
      break;
    case 14:
      n->set_head_dim(Int32(f, n->head_dim()));
      break;
    case 15:
      n->set_numerics(Pick(f, numerics));
      break;
    case 16:
      n->set_prologue(Pick(f, prologues));
      break;
    case 17:
      n->set_epilogue(Pick(f, epilogues));
      break;
    case 18:
      n->set_n_weights(Int32(f, n->n_weights()));
      break;
    case 19:
      n->set_tensor(Pick(f, seeds.tensors));
      break;
    case 20:
      EditList(f, n->mutable_tile_rows(), [&](int32_t o) { return Int32(f, o); });
      break;
    case 21:
      EditList(f, n->mutable_tile_tokens(), [&](int32_t o) { return Int32(f, o); });
      break;
    case 22:
      n->set_rope_type(Pick(f, rope_types));
      break;
    default:
      EditList(f, n->mutable_tile_codes_per_byte(), [&](int32_t o) { return Int32(f, o); });
  }
}

void EditKernel(FuzzedDataProvider& f, const Seeds& seeds, bitjit::plan::TernaryKernel* k) {
  switch (f.ConsumeIntegralInRange<int>(0, 10)) {
    case 0:
      k->set_tensor(Pick(f, seeds.tensors));
      break;
    case 1:
      k->set_k(Int(f, k->k()));
      break;
    case 2:
      k->set_n(Int(f, k->n()));
      break;
    case 3:
      k->set_tile_rows(Int32(f, k->tile_rows()));
      break;
    case 4:
      k->set_tile_tokens(Int32(f, k->tile_tokens()));
      break;
    case 5:
      k->set_scale(Float(f, k->scale()));
      break;
    case 6:
      k->set_sidecar_offset(SidecarNumber(f, seeds, k->sidecar_offset()));
      break;
    case 7:
      k->set_sidecar_bytes(SidecarNumber(f, seeds, k->sidecar_bytes()));
      break;
    case 8:
      k->set_decode_tasks_per_thread(Int32(f, k->decode_tasks_per_thread()));
      break;
    case 9:
      k->set_prefill_tasks_per_thread(Int32(f, k->prefill_tasks_per_thread()));
      break;
    default:
      k->set_codes_per_byte(Int32(f, k->codes_per_byte()));
  }
}

void EditPlan(FuzzedDataProvider& f, const Seeds& seeds, Plan* p) {
  switch (f.ConsumeIntegralInRange<int>(0, 21)) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6: {
      const int i = Index(f, p->nodes());
      if (i >= 0) EditNode(f, seeds, p, p->mutable_nodes(i));
      break;
    }
    case 7:
    case 8: {
      const int i = Index(f, p->kernels());
      if (i >= 0) EditKernel(f, seeds, p->mutable_kernels(i));
      break;
    }
    case 9:
      p->set_arena_bytes_per_token(Int(f, p->arena_bytes_per_token()));
      break;
    case 10: {  // structure: drop, duplicate or swap nodes
      const int i = Index(f, p->nodes()), j = Index(f, p->nodes());
      if (i < 0) break;
      switch (f.ConsumeIntegralInRange<int>(0, 2)) {
        case 0:
          p->mutable_nodes()->DeleteSubrange(i, 1);
          break;
        case 1:
          *p->add_nodes() = p->nodes(i);
          break;
        default:
          p->mutable_nodes()->SwapElements(i, j);
      }
      break;
    }
    case 11: {  // the same for kernels
      const int i = Index(f, p->kernels()), j = Index(f, p->kernels());
      if (i < 0) break;
      switch (f.ConsumeIntegralInRange<int>(0, 2)) {
        case 0:
          p->mutable_kernels()->DeleteSubrange(i, 1);
          break;
        case 1:
          *p->add_kernels() = p->kernels(i);
          break;
        default:
          p->mutable_kernels()->SwapElements(i, j);
      }
      break;
    }
    case 12:
      p->set_sidecar_size(SidecarNumber(f, seeds, p->sidecar_size()));
      break;
    case 13:
      p->set_sidecar(Pick(f, {"seed.plan.weights", "", ".", "..", "../f16.gguf", "seed.plan",
                              "input.plan", "../seed0/seed.plan.weights", "/dev/zero", "missing"}));
      break;
    case 14:
      p->set_numerics(Pick(f, {"bitnet", "f32"}));
      break;
    case 15:
      p->mutable_cpu()->set_isa(Pick(f, {"ref", "avx2", "avx512", "avx512vnni", "avxvnni"}));
      break;
    case 16:
      p->set_format_version(static_cast<uint32_t>(Int(f, p->format_version())));
      break;
    case 17:
    case 18: {  // --lm-head tables
      auto* lm = p->mutable_lm_head();
      switch (f.ConsumeIntegralInRange<int>(0, 5)) {
        case 0:
          lm->set_type(Pick(f, {"q8_0", "q6_k", "f16", ""}));
          break;
        case 1:
          lm->set_n(Int(f, lm->n()));
          break;
        case 2:
          lm->set_vocab(Int(f, lm->vocab()));
          break;
        case 3:
          lm->set_sidecar_offset(SidecarNumber(f, seeds, lm->sidecar_offset()));
          break;
        case 4:
          lm->set_sidecar_bytes(SidecarNumber(f, seeds, lm->sidecar_bytes()));
          break;
        default:
          p->clear_lm_head();
      }
      break;
    }
    case 19:
    case 20: {  // the f16 lm_head in its GEMV's tiles
      auto* t = p->mutable_f16_lm_head();
      switch (f.ConsumeIntegralInRange<int>(0, 6)) {
        case 0:
          t->set_n(Int(f, t->n()));
          break;
        case 1:
          t->set_vocab(Int(f, t->vocab()));
          break;
        case 2:
          t->set_tile_rows(Int32(f, t->tile_rows()));
          break;
        case 3:
          t->set_block_lanes(Int32(f, t->block_lanes()));
          break;
        case 4:
          t->set_sidecar_offset(SidecarNumber(f, seeds, t->sidecar_offset()));
          break;
        case 5:
          t->set_sidecar_bytes(SidecarNumber(f, seeds, t->sidecar_bytes()));
          break;
        default:
          p->clear_f16_lm_head();
      }
      break;
    }
    default:
      p->mutable_model()->set_size(UInt(f, p->model().size()));
  }
}

// A few raw edits of the serialized plan (the parser's side): overwrite, insert or erase a
// byte, or cut the plan short.
void EditBytes(FuzzedDataProvider& f, std::string* bytes) {
  const int n = f.ConsumeIntegralInRange<int>(1, 4);
  for (int i = 0; i < n && !bytes->empty(); ++i) {
    const size_t at = f.ConsumeIntegralInRange<size_t>(0, bytes->size() - 1);
    switch (f.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        (*bytes)[at] = static_cast<char>(f.ConsumeIntegral<uint8_t>());
        break;
      case 1:
        bytes->insert(at, 1, static_cast<char>(f.ConsumeIntegral<uint8_t>()));
        break;
      case 2:
        bytes->erase(at, 1);
        break;
      default:
        bytes->resize(at);
    }
  }
}

void WriteFile(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
    std::abort();
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  GetSeeds();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Seeds& seeds = GetSeeds();
  FuzzedDataProvider f(data, size);
  // The first byte: which seed (bits 0-1), mapped or copied weights (2), raw byte edits too
  // (3-4 both set), logits of every row (5), and which steps run (6-7).
  const uint8_t mode = f.ConsumeIntegral<uint8_t>();
  const Seed& seed = seeds.seeds[(mode & 3) % seeds.seeds.size()];
  const bool map_weights = mode & 4, raw_edits = (mode & 0x18) == 0x18, all_rows = mode & 0x20;
  const int steps = mode >> 6;
  // The edited copy lives in one reused block: copying and freeing a plan's few hundred
  // messages through the sanitizer's allocator was a tenth of each run.
  static std::vector<char> block(1 << 20);
  google::protobuf::ArenaOptions arena_options;
  arena_options.initial_block = block.data();
  arena_options.initial_block_size = block.size();
  google::protobuf::Arena arena(arena_options);
  Plan* p = google::protobuf::Arena::CreateMessage<Plan>(&arena);
  p->CopyFrom(seed.plan);
  for (int edits = 0; edits < 32 && f.remaining_bytes() > 0; ++edits) EditPlan(f, seeds, p);
  std::string bytes;
  {
    google::protobuf::LogSilencer quiet;  // edited strings may not be UTF-8
    if (!p->SerializeToString(&bytes)) std::abort();
  }
  if (raw_edits) EditBytes(f, &bytes);
  WriteFile(seed.input_path, bytes);
  // Reproducing a finding: PLAN_FUZZ_SAVE=FILE keeps the plan it loads (protoc --decode it).
  if (const char* save = std::getenv("PLAN_FUZZ_SAVE")) WriteFile(save, bytes);
  try {
    bitjit::ModelOptions o = Options();
    o.lm_head = "";  // the plan's
    o.plan_weights = map_weights ? bitjit::PlanWeights::kMap : bitjit::PlanWeights::kCopy;
    auto model = bitjit::Model::LoadPlan(seed.input_path, o);
    const size_t n_vocab = static_cast<size_t>(model->config().n_vocab);
    bitjit::Session s(*model, 8, 1);
    std::vector<float> logits;
    // One step per input, each kind as often: a 1-token decode (the GEMV kernels), a 2- or
    // 3-token prefill (the GEMM kernels), or a prefill and then a decode that attends to it.
    static const std::vector<int32_t> kSteps[4][2] = {
        {{1}, {}}, {{1, 2}, {}}, {{1, 2, 3}, {}}, {{1, 2}, {3}}};
    for (const std::vector<int32_t>& tokens : kSteps[steps]) {
      if (tokens.empty()) break;
      const bool rows = all_rows && &tokens == &kSteps[steps][0];
      s.Eval(tokens, rows, &logits);
      if (logits.size() != (rows ? tokens.size() : 1) * n_vocab) std::abort();
    }
  } catch (const bitjit::Error&) {
  }
  return 0;
}
