#include "runtime/tuning/tile_choice.h"

#include <glog/logging.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "codegen/lmhead/f16_gemv.h"
#include "ir/base/error.h"

namespace bitjit {
namespace {

// Decisions for this CPU, per (isa, k, n), for the cache they were taken from. Deciding
// compiles the tile's kernels once to validate it, so it is done once per shape, not per call.
struct Memo {
  std::mutex mu;
  std::shared_ptr<const tuning::TuningCache> source;
  std::map<std::tuple<int, int64_t, int64_t>, TernaryChoice> choices;
};

TernaryChoice HostChoice(int64_t k, int64_t n, codegen::Isa isa) {
  static Memo* memo = new Memo();  // never destroyed: executors may run during exit
  std::shared_ptr<const tuning::TuningCache> cache = tuning::ProcessTuningCache();
  std::lock_guard<std::mutex> hold(memo->mu);
  if (memo->source != cache) {  // SetTuningCachePath loaded another file
    memo->choices.clear();
    memo->source = cache;
  }
  const auto key = std::make_tuple(static_cast<int>(isa), k, n);
  auto it = memo->choices.find(key);
  if (it == memo->choices.end()) {
    it = memo->choices.emplace(key, ChooseFromCache(*cache, codegen::HostCpu(), isa, k, n)).first;
  }
  return it->second;
}

// The cache's entry for `isa` and that key; avx512amx's tiles and its F16 lm_head are the
// avx512vnni kernels', so a cache tuned before avx512amx existed (or with --isa avx512vnni)
// still applies.
const tuning::TuningEntry* FindForIsa(const tuning::TuningCache& cache,
                                      const codegen::CpuIdentity& cpu, codegen::Isa isa, int64_t k,
                                      int64_t n, const std::string& kernel = "") {
  const tuning::TuningEntry* e = tuning::FindEntry(cache, tuning::MakeKey(cpu, isa, k, n, kernel));
  if (e == nullptr && codegen::VectorIsa(isa) != isa) {
    e = tuning::FindEntry(cache, tuning::MakeKey(cpu, codegen::VectorIsa(isa), k, n, kernel));
  }
  return e;
}

}  // namespace

codegen::TernaryPacking DefaultTernaryPacking(codegen::Isa isa) {
  // Not avx2: its 1.6-bit kernels unpack arithmetically (no vpermb) and are only a default
  // where they were measured faster (tile_choice.h).
  const bool dense = codegen::VectorIsa(isa) == codegen::Isa::kAvx512Vnni &&
                     codegen::TernaryPackingSupported(isa, codegen::TernaryPacking::k1p6Bit);
  return dense ? codegen::TernaryPacking::k1p6Bit : codegen::TernaryPacking::k2Bit;
}

codegen::TernaryTile DefaultTile(codegen::Isa isa) {
  codegen::TernaryTile tile = codegen::DefaultTernaryTile(isa);
  tile.packing = DefaultTernaryPacking(isa);
  return tile;
}

codegen::TernaryTile ToTernaryTile(const ir::WeightTile& tile) {
  return {tile.rows, tile.tokens, codegen::TernaryPackingWithCodesPerByte(tile.codes_per_byte)};
}

ir::WeightTile ToWeightTile(const codegen::TernaryTile& tile) {
  return {tile.rows, tile.tokens, codegen::TernaryCodesPerByte(tile.packing)};
}

TernaryChoice ChooseFromCache(const tuning::TuningCache& cache, const codegen::CpuIdentity& cpu,
                              codegen::Isa isa, int64_t k, int64_t n) {
  TernaryChoice choice;
  choice.tile.packing = DefaultTernaryPacking(isa);
  const tuning::TuningEntry* e = FindForIsa(cache, cpu, isa, k, n);
  if (e == nullptr) return choice;
  try {
    // The kernels are the judge of which tiles fit (a hand-edited or stale entry may not).
    const codegen::TernaryTile tile{e->tile_rows(), e->tile_tokens(),
                                    e->packing().empty()
                                        ? codegen::TernaryPacking::k2Bit
                                        : codegen::ParseTernaryPacking(e->packing())};
    if (tile.rows <= 0 || tile.tokens <= 0) Fail("tile ", tile.rows, "x", tile.tokens);
    std::optional<int> prefetch;
    if (e->has_gemv_prefetch_bytes()) prefetch = e->gemv_prefetch_bytes();
    codegen::TernaryMatmul probe(k, n, isa, tile, prefetch);
    choice.tile = tile;
    choice.gemv_prefetch_bytes = prefetch;
  } catch (const Error& err) {
    LOG(WARNING) << "tuning cache entry for " << codegen::IsaName(isa) << " " << k << "x" << n
                 << " is not usable (" << err.what() << "); using the default tile";
    return choice;
  }
  auto usable = [](int tasks) { return tasks >= 1 && tasks <= 64; };
  if (usable(e->decode_tasks_per_thread())) {
    choice.decode_tasks_per_thread = e->decode_tasks_per_thread();
  }
  if (usable(e->prefill_tasks_per_thread())) {
    choice.prefill_tasks_per_thread = e->prefill_tasks_per_thread();
  }
  choice.tuned = true;
  return choice;
}

codegen::TernaryTile ChooseTernaryTile(int64_t k, int64_t n, codegen::Isa isa,
                                       std::optional<codegen::TernaryPacking> packing) {
  codegen::TernaryTile tile = HostChoice(k, n, isa).tile;
  if (!packing || *packing == tile.packing) return tile;
  tile.packing = *packing;
  try {
    codegen::TernaryMatmul probe(k, n, isa, tile);  // tuned for the other packing: still fits?
  } catch (const Error&) {
    tile = {0, 0, *packing};
  }
  return tile;
}

codegen::TernaryTile DecideTernaryTile(int64_t k, int64_t n, codegen::Isa isa,
                                       std::optional<codegen::TernaryPacking> packing) {
  codegen::TernaryTile tile = ChooseTernaryTile(k, n, isa, packing);
  const codegen::TernaryTile def = codegen::DefaultTernaryTile(codegen::ResolveIsa(isa));
  if (tile.rows == 0) tile.rows = def.rows;
  if (tile.tokens == 0) tile.tokens = def.tokens;
  return tile;
}

std::optional<int> ChooseGemvPrefetch(int64_t k, int64_t n, codegen::Isa isa,
                                      const codegen::TernaryTile& tile) {
  const TernaryChoice c = HostChoice(k, n, isa);
  const bool same_layout = c.tile.rows == tile.rows && c.tile.packing == tile.packing;
  return same_layout ? c.gemv_prefetch_bytes : std::nullopt;
}

std::optional<int> ChooseF16LmHeadPrefetch(int64_t n_embd, int64_t vocab, codegen::Isa isa) {
  const std::shared_ptr<const tuning::TuningCache> cache = tuning::ProcessTuningCache();
  const tuning::TuningEntry* e =
      FindForIsa(*cache, codegen::HostCpu(), isa, n_embd, vocab, tuning::kF16LmHeadKernel);
  if (e == nullptr || !e->has_gemv_prefetch_bytes()) return std::nullopt;
  try {
    codegen::F16Gemv probe(n_embd, isa, e->gemv_prefetch_bytes());  // the kernel is the judge
  } catch (const Error& err) {
    LOG(WARNING) << "tuning cache entry for the " << codegen::IsaName(isa) << " F16 lm_head "
                 << n_embd << "x" << vocab << " is not usable (" << err.what()
                 << "); using the default prefetch distance";
    return std::nullopt;
  }
  return e->gemv_prefetch_bytes();
}

int ChooseTasksPerThread(int64_t k, int64_t n, codegen::Isa isa, int64_t n_tokens) {
  const TernaryChoice c = HostChoice(k, n, isa);
  return n_tokens > 1 ? c.prefill_tasks_per_thread : c.decode_tasks_per_thread;
}

}  // namespace bitjit
