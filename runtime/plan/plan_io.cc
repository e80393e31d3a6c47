// Model::SavePlan and Model::LoadPlan: compiled plans on disk.
#include <glog/logging.h>
#include <google/protobuf/stubs/logging.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/memory/weight_memory.h"
#include "ir/base/error.h"
#include "ir/base/output_path.h"
#include "passes/pass.h"
#include "plan.pb.h"
#include "runtime/compiled_model.h"
#include "runtime/model.h"
#include "runtime/plan/graph_proto.h"
#include "runtime/plan/plan_checks.h"
#include "runtime/plan/sidecar_mapping.h"
#include "runtime/plan/sidecar_writer.h"
#include "runtime/schedule.h"
#include "runtime/thread_pool.h"
#include "runtime/tuning/tile_choice.h"

namespace bitjit {
namespace {

constexpr uint32_t kPlanFormatVersion = 1;
constexpr uint64_t kSidecarAlign = 64;

// FNV-1a 64 over the file's bytes before the data section: header, keys and tensor table.
uint64_t HeaderHash(const gguf::GgufFile& f) {
  uint64_t h = 0xcbf29ce484222325ull;
  const auto bytes = f.bytes().first(std::min<uint64_t>(f.data_offset(), f.file_size()));
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

std::string SidecarPath(const std::string& plan_path) {
  return plan_path + ".weights";
}

using plan::MappedSidecar;

// True when [offset, offset + bytes) lies inside the sidecar and starts where a kernel may read
// it (64-byte aligned: SavePlan pads every piece to kSidecarAlign). Compared without adding:
// offset + bytes may wrap around 2^64.
bool InSidecar(const MappedSidecar& side, uint64_t offset, uint64_t bytes) {
  return offset % kSidecarAlign == 0 && offset <= side.size() && bytes <= side.size() - offset;
}

// Whether LoadPlan runs on the mapped sidecar in place (ModelOptions::plan_weights).
bool UseSidecarInPlace(const MappedSidecar& side, PlanWeights choice) {
  if (choice != PlanWeights::kAuto) return choice == PlanWeights::kMap;
  // Three quarters of a sample: a sidecar written in 2 MiB chunks comes back 96-99% in 2 MiB
  // pages, one written otherwise ~25% (sidecar_writer.h).
  const MappedSidecar::HugePageSample sample = side.SampleHugePages();
  const bool in_place = sample.sampled > 0 && sample.huge >= sample.sampled / 4 * 3;
  VLOG(1) << "plan weights: " << (sample.huge >> 20) << " of " << (sample.sampled >> 20)
          << " MiB sampled of the sidecar in 2 MiB pages: "
          << (in_place ? "run in place" : "copied");
  return in_place;
}

// How a plan kernel's sidecar bytes are packed; 0 codes per byte (plans from before 1.6-bit
// packing) means 2 bits.
codegen::TernaryPacking KernelPacking(const plan::TernaryKernel& k, const std::string& path) {
  const int per_byte = k.codes_per_byte() ? k.codes_per_byte() : 4;
  if (per_byte != 4 && per_byte != 5) {
    Fail(path, ": kernel ", k.tensor(), ": ", per_byte, " codes per byte (expected 4 or 5)");
  }
  return codegen::TernaryPackingWithCodesPerByte(per_byte);
}

}  // namespace

Model::PlanStats Model::SavePlan(const std::string& path) const {
  if (!compiled_) Fail("a plan holds JIT kernels: compile with an ISA other than ref");
  // Both files are truncated in place: neither may be a link, FIFO, device or directory.
  CheckOutputPath(path);
  CheckOutputPath(SidecarPath(path));
  const CompiledModel& compiled = *compiled_;
  plan::Plan p;
  p.set_format_version(kPlanFormatVersion);
  p.set_bitjit_version("0.1");
  auto* id = p.mutable_model();
  id->set_path(std::filesystem::absolute(file_->path()).string());
  id->set_size(file_->file_size());
  id->set_header_hash(HeaderHash(*file_));
  const auto& cpu = codegen::HostCpu();
  auto* c = p.mutable_cpu();
  c->set_vendor(cpu.vendor);
  c->set_brand(cpu.brand);
  c->set_family(cpu.family);
  c->set_model(cpu.model);
  c->set_isa(std::string(codegen::IsaName(compiled.isa)));
  p.set_numerics(options_.numerics == ir::Numerics::kBitnet ? "bitnet" : "f32");
  for (const std::string& name : passes::PassNames()) p.add_passes(name);
  GraphToProto(*graph_, &p);

  const std::string sidecar = SidecarPath(path);
  plan::SidecarWriter side(sidecar);  // in 2 MiB chunks: sidecar_writer.h says why
  // Appends `bytes`, padded to kSidecarAlign, and returns where they start.
  const auto append = [&](const uint8_t* data, size_t bytes) {
    return side.Append(data, bytes, kSidecarAlign);
  };
  PlanStats stats;
  for (const auto& n : graph_->nodes()) {
    if (n->kind != ir::OpKind::kBitLinear) continue;
    const auto& pl = compiled.linears.at(n.get());
    for (size_t i = 0; i < pl.weights.size(); ++i) {
      const auto& w = pl.weights[i];
      auto* k = p.add_kernels();
      k->set_tensor(n->bl_weight(static_cast<int>(i))->producer->constant.name);
      k->set_k(w.k);
      k->set_n(w.n);
      k->set_tile_rows(pl.matmuls[i]->tile().rows);
      k->set_tile_tokens(pl.matmuls[i]->tile().tokens);
      k->set_codes_per_byte(codegen::TernaryCodesPerByte(w.packing));
      k->set_decode_tasks_per_thread(pl.splits[i].decode_tasks_per_thread);
      k->set_prefill_tasks_per_thread(pl.splits[i].prefill_tasks_per_thread);
      k->set_scale(w.scale);
      k->set_sidecar_offset(append(w.data.get(), w.bytes));
      k->set_sidecar_bytes(w.bytes);
      ++stats.n_kernels;
    }
  }
  // --lm-head q8_0|q6_k: the quantized table follows the ternary weights.
  if (const auto& head = compiled.quantized_lm_head) {
    const lm_head::QuantizedTable& t = head->table();
    auto* lm = p.mutable_lm_head();
    lm->set_type(std::string(lm_head::LmHeadTypeName(t.type)));
    lm->set_n(t.n);
    lm->set_vocab(t.vocab);
    lm->set_sidecar_offset(append(t.data.get(), t.bytes));
    lm->set_sidecar_bytes(t.bytes);
  }
  // The f16 lm_head in its GEMV's tiles: a load maps it instead of tiling the model's table.
  if (const auto& tiles = compiled.f16_lm_head_table) {
    auto* f16 = p.mutable_f16_lm_head();
    f16->set_n(tiles->n);
    f16->set_vocab(tiles->vocab);
    f16->set_tile_rows(tiles->tile_rows);
    f16->set_block_lanes(tiles->block_lanes);
    f16->set_sidecar_offset(append(tiles->data.get(), tiles->bytes));
    f16->set_sidecar_bytes(tiles->bytes);
  }
  side.Finish();
  p.set_sidecar(std::filesystem::path(sidecar).filename().string());
  p.set_sidecar_size(side.size());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !p.SerializeToOstream(&out)) Fail("cannot write ", path, ": ", std::strerror(errno));
  out.close();
  stats.plan_bytes = std::filesystem::file_size(path);
  stats.sidecar_bytes = side.size();
  return stats;
}

std::unique_ptr<Model> Model::LoadPlan(const std::string& path, const ModelOptions& options,
                                       const std::string& model_path) {
  plan::Plan p;
  {
    // A plan is the graph and its kernels' metadata (the weights are in the sidecar): a few
    // hundred KB. Anything but a regular file of a sane size (a FIFO, /dev/zero, a huge file)
    // is refused before it is read.
    constexpr uint64_t kMaxPlanBytes = 64ull << 20;
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec) Fail("cannot open plan ", path, ": ", ec.message());
    if (!std::filesystem::is_regular_file(status)) Fail(path, " is not a regular file");
    if (std::filesystem::file_size(path, ec) > kMaxPlanBytes || ec) {
      Fail(path, ": larger than a plan can be (", kMaxPlanBytes >> 20, " MiB)");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) Fail("cannot open plan ", path, ": ", std::strerror(errno));
    // Protobuf logs its own line for a string that is not UTF-8; the error below is the one.
    google::protobuf::LogSilencer quiet;
    if (!p.ParseFromIstream(&in)) Fail(path, ": not a bitjit plan (protobuf parse failed)");
  }
  if (p.format_version() != kPlanFormatVersion) {
    Fail(path, ": plan format ", p.format_version(), " is not supported (expected ",
         kPlanFormatVersion, "); compile it again");
  }
  // CPU: the plan's kernels need its ISA's features.
  const codegen::Isa isa = codegen::ParseIsa(p.cpu().isa());
  if (!codegen::IsaSupported(isa)) {
    Fail(path, ": plan was compiled for ", p.cpu().isa(), " (", p.cpu().brand(),
         ") and this CPU lacks its features; compile a plan on this machine");
  }
  // Packing: every kernel's must be one this CPU reads, and the one asked for, if any (the
  // sidecar holds the plan's bytes; asking for another is refused, not ignored).
  const auto want = ParsePackingOption(options.ternary_packing);
  for (const plan::TernaryKernel& k : p.kernels()) {
    const codegen::TernaryPacking packing = KernelPacking(k, path);
    if (!codegen::TernaryPackingSupported(isa, packing)) {
      Fail(path, ": plan holds 1.6-bit weights, which ", codegen::IsaName(isa),
           " cannot read (they need avx2, or avx512vnni / avx512amx with AVX512_VBMI, on ",
           codegen::HostCpu().brand, "); compile a plan on this machine");
    }
    if (want && packing != *want) {
      Fail(path, ": plan holds ", codegen::TernaryPackingName(packing), " weights, not ",
           options.ternary_packing, "; drop --ternary-packing or compile the plan again");
    }
  }
  ModelOptions opts = options;
  opts.numerics = p.numerics() == "f32" ? ir::Numerics::kF32 : ir::Numerics::kBitnet;
  opts.isa = p.cpu().isa();
  opts.optimize = true;
  // --lm-head: the plan's; asking for another one is refused rather than silently ignored.
  const std::string plan_lm_head = p.has_lm_head() ? p.lm_head().type() : "f16";
  if (!options.lm_head.empty() &&
      lm_head::ParseLmHeadType(options.lm_head) != lm_head::ParseLmHeadType(plan_lm_head)) {
    Fail(path, ": plan was compiled with --lm-head ", plan_lm_head, ", not ", options.lm_head,
         "; drop --lm-head or compile the plan again");
  }
  opts.lm_head = plan_lm_head;
  opts.ternary_packing = "auto";
  std::unique_ptr<Model> m = Open(model_path.empty() ? p.model().path() : model_path, opts);
  if (m->file_->file_size() != p.model().size() ||
      HeaderHash(*m->file_) != p.model().header_hash()) {
    Fail(path, ": plan was compiled for a different model file (", p.model().path(), ", ",
         p.model().size(), " bytes) than ", m->file_->path(), " (", m->file_->file_size(),
         " bytes)");
  }
  try {
    m->graph_ = GraphFromProto(p, *m->file_);
  } catch (const Error& e) {
    Fail(path, ": ", e.what());  // which plan, when a process loads several
  }
  CheckPlanGraph(*m->graph_, m->config(), path);  // before anything indexes with the plan's values
  m->from_plan_ = true;

  const std::string sidecar = (std::filesystem::path(path).parent_path() / p.sidecar()).string();
  const auto mapped = std::make_shared<const MappedSidecar>(sidecar);
  const MappedSidecar& side = *mapped;
  if (side.size() != p.sidecar_size()) {
    Fail(sidecar, ": size ", side.size(), " does not match the plan (", p.sidecar_size(), ")");
  }
  auto compiled = std::make_shared<CompiledModel>();
  compiled->isa = isa;
  compiled->release_source = m->FilePageRelease();
  // First the kernels, then every packed weight copied into one arena of huge pages.
  int next = 0;
  for (const auto& n : m->graph_->nodes()) {
    if (n->kind != ir::OpKind::kBitLinear) continue;
    auto& pl = compiled->linears[n.get()];
    for (int i = 0; i < n->attrs.n_weights; ++i, ++next) {
      if (next >= p.kernels_size()) Fail(path, ": plan lists fewer kernels than its graph needs");
      const plan::TernaryKernel& k = p.kernels(next);
      const ir::Value* w = n->bl_weight(i);
      if (k.tensor() != w->producer->constant.name || k.k() != w->shape[1] ||
          k.n() != w->shape[0]) {
        Fail(path, ": kernel ", next, " (", k.tensor(), ") does not match the graph");
      }
      // The prefetch distance is this CPU's (its tuning cache's), not the plan's: it changes
      // no result, only how one machine's memory is read.
      const codegen::TernaryTile tile{k.tile_rows(), k.tile_tokens(), KernelPacking(k, path)};
      pl.matmuls.push_back(std::make_unique<codegen::TernaryMatmul>(
          k.k(), k.n(), isa, tile, ChooseGemvPrefetch(k.k(), k.n(), isa, tile)));
      auto tasks = [&](int stored, int64_t n_tokens) {
        if (stored == 0) return ChooseTasksPerThread(k.k(), k.n(), isa, n_tokens);
        if (stored < 1 || stored > 64)
          Fail(path, ": kernel ", k.tensor(), ": ", stored, " tasks per thread");
        return stored;
      };
      pl.splits.push_back(
          {tasks(k.decode_tasks_per_thread(), 1), tasks(k.prefill_tasks_per_thread(), 2)});
      if (pl.matmuls.back()->PackedBytes() != k.sidecar_bytes() ||
          !InSidecar(side, k.sidecar_offset(), k.sidecar_bytes())) {
        Fail(sidecar, ": kernel ", k.tensor(), " bytes do not match the plan");
      }
    }
  }
  if (next != p.kernels_size()) Fail(path, ": plan lists more kernels than its graph has");
  ThreadPool pool(options.n_threads);
  // The bytes at `offset` of the sidecar, in place: they stay mapped as long as a user holds them.
  const auto at = [&](uint64_t offset) {
    return std::shared_ptr<uint8_t[]>(mapped, const_cast<uint8_t*>(side.data() + offset));
  };
  // Mapped (--mmap): the kernels run on the sidecar itself; nothing is copied, and nothing is
  // zeroed first (fresh memory for a gigabyte of weights costs the kernel more time than the
  // copy itself). Copied: one arena of huge pages, page by page dropping the sidecar's copy.
  // Auto (the default): mapped where the kernel maps the sidecar in 2 MiB pages, since only
  // then does decode stream it without a TLB miss every 4 KiB (sidecar_writer.h).
  const bool in_place = UseSidecarInPlace(side, options.plan_weights);
  std::optional<codegen::WeightArena> arena;
  if (!in_place) arena.emplace(compiled->PackedFootprint());
  struct Copy {
    uint8_t* dst;
    size_t offset, bytes;  // in the sidecar
  };
  std::vector<Copy> copies;
  next = 0;
  for (const auto& n : m->graph_->nodes()) {
    if (n->kind != ir::OpKind::kBitLinear) continue;
    auto& pl = compiled->linears[n.get()];
    for (int i = 0; i < n->attrs.n_weights; ++i, ++next) {
      const plan::TernaryKernel& k = p.kernels(next);
      if (!arena) {
        pl.weights.push_back(pl.matmuls[i]->View(k.scale(), at(k.sidecar_offset())));
        continue;
      }
      pl.weights.push_back(pl.matmuls[i]->Allocate(k.scale(), &*arena));
      copies.push_back({pl.weights.back().data.get(), k.sidecar_offset(), k.sidecar_bytes()});
    }
  }
  pool.ParallelFor(static_cast<int64_t>(copies.size()), [&](int64_t i, int) {
    std::memcpy(copies[i].dst, side.data() + copies[i].offset, copies[i].bytes);
    side.Release(copies[i].offset, copies[i].bytes);  // never both copies resident
  });
  compiled->AddActivationKernels(*m->graph_);
  if (p.has_lm_head()) {  // --lm-head q8_0|q6_k: the table as compiled, no requantization
    const plan::LmHeadTable& lm = p.lm_head();
    const ir::Value& table = lm_head::LmHeadTable(*m->graph_);
    if (lm.n() != table.shape[1] || lm.vocab() != table.shape[0]) {
      Fail(path, ": lm_head table ", lm.vocab(), " x ", lm.n(), " does not match the graph");
    }
    lm_head::QuantizedTable t =
        lm_head::AllocateTable(lm_head::ParseLmHeadType(lm.type()), lm.n(), lm.vocab());
    if (t.bytes != lm.sidecar_bytes()) Fail(sidecar, ": lm_head table bytes do not match the plan");
    if (!InSidecar(side, lm.sidecar_offset(), lm.sidecar_bytes())) {
      Fail(path, ": lm_head.sidecar_offset ", lm.sidecar_offset(), " + sidecar_bytes ",
           lm.sidecar_bytes(), " is outside the sidecar's ", side.size(), " bytes");
    }
    std::memcpy(t.data.get(), side.data() + lm.sidecar_offset(), t.bytes);
    compiled->quantized_lm_head =
        std::make_shared<const lm_head::QuantizedLmHead>(std::move(t), isa);
  } else if (p.has_f16_lm_head() && compiled->f16_lm_head) {
    // The f16 table in its GEMV's tiles: in place, or copied as it is (not tiled again).
    const plan::F16LmHeadTiles& f16 = p.f16_lm_head();
    const ir::Value& table = lm_head::LmHeadTable(*m->graph_);
    const codegen::F16Gemv& gemv = *compiled->f16_lm_head;
    if (f16.n() != table.shape[1] || f16.vocab() != table.shape[0] ||
        f16.tile_rows() != gemv.tile_rows()) {
      Fail(path, ": f16_lm_head ", f16.vocab(), " x ", f16.n(), " in tiles of ", f16.tile_rows(),
           " does not match the graph and its kernel");
    }
    codegen::F16TiledTable tiles = gemv.Shape(f16.vocab());
    if (tiles.block_lanes != f16.block_lanes() || tiles.bytes != f16.sidecar_bytes() ||
        !InSidecar(side, f16.sidecar_offset(), f16.sidecar_bytes())) {
      Fail(sidecar, ": f16_lm_head bytes do not match the plan");
    }
    if (in_place) {
      tiles = gemv.View(f16.vocab(), at(f16.sidecar_offset()));
    } else {
      tiles = gemv.Allocate(f16.vocab());
      const size_t parts = 8 * static_cast<size_t>(pool.n_threads());
      pool.ParallelFor(static_cast<int64_t>(parts), [&](int64_t part, int) {
        const size_t begin = tiles.bytes * part / parts, end = tiles.bytes * (part + 1) / parts;
        std::memcpy(tiles.data.get() + begin, side.data() + f16.sidecar_offset() + begin,
                    end - begin);
        side.Release(f16.sidecar_offset() + begin, end - begin);
      });
    }
    compiled->f16_lm_head_table = std::make_shared<const codegen::F16TiledTable>(std::move(tiles));
    compiled->f16_lm_head_source = &table;
  } else {
    compiled->PackF16LmHead(*m->graph_, pool);
  }
  m->compiled_ = std::move(compiled);
  m->schedule_ = std::make_shared<const Schedule>(*m->graph_, m->compiled_);
  m->ReleaseLmHeadPages();
  return m;
}

}  // namespace bitjit
