#include "runtime/tuning/lm_head_tuner.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codegen/lmhead/f16_gemv.h"
#include "ir/base/error.h"
#include "runtime/ops/lm_head_table.h"
#include "runtime/thread_pool.h"
#include "runtime/tuning/interleaved_bench.h"

namespace bitjit::tuning {

ShapeTuning TuneF16LmHead(const F16LmHeadTable& table, const TuneOptions& o) {
  if (table.rows == nullptr || table.n_embd <= 0 || table.vocab <= 0) {
    Fail("tune: no F16 lm_head table given");
  }
  const codegen::Isa isa = codegen::ResolveIsa(o.isa);
  if (isa == codegen::Isa::kRef) Fail("tune: the F16 lm_head has no JIT kernel on ref");
  const auto start = std::chrono::steady_clock::now();
  ThreadPool pool(o.threads);

  // Unset = the kernel's default; every candidate reads the default's tiles (the layout does
  // not depend on the distance).
  std::vector<std::optional<int>> distances = {std::nullopt};
  std::vector<std::unique_ptr<codegen::F16Gemv>> gemvs;
  gemvs.push_back(std::make_unique<codegen::F16Gemv>(table.n_embd, isa));
  const int default_distance = gemvs[0]->prefetch_bytes();
  for (int d : kF16LmHeadPrefetchOptions) {
    if (d == default_distance) continue;
    distances.push_back(d);
    gemvs.push_back(std::make_unique<codegen::F16Gemv>(table.n_embd, isa, d));
  }
  codegen::F16TiledTable tiles = gemvs[0]->Allocate(table.vocab);
  pool.ParallelFor(16 * pool.n_threads(), [&](int64_t c, int) {
    const int64_t parts = 16 * pool.n_threads();
    gemvs[0]->PackTiles(table.rows, tiles.n_tiles * c / parts, tiles.n_tiles * (c + 1) / parts,
                        &tiles);
  });

  // One token's logits per call, split over the pool as decode splits them.
  const std::vector<float> x(table.n_embd, 0.25f);
  std::vector<float> out(table.vocab);
  const double bytes = 2.0 * static_cast<double>(table.n_embd) * static_cast<double>(table.vocab);
  std::vector<BenchCandidate> stage;
  for (const auto& gemv : gemvs) {
    const codegen::F16Gemv* g = gemv.get();
    stage.push_back(BenchCandidate{[&pool, &tiles, &x, &out, g] {
                                     lm_head::RunF16LogitsRow(*g, tiles, x.data(), out.data(),
                                                              pool);
                                   },
                                   bytes,
                                   {}});
  }
  const double spent =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RunInterleaved(&stage, {std::max(0.5, o.budget_s - spent), 3, 1000, o.tick});
  const int win = PickWinner(stage, std::vector<bool>(stage.size(), true), 0, o.min_gain);

  ShapeTuning result;
  result.rows.push_back(TunedRow{
      "lm_head", static_cast<int>(stage.size()), PrefetchLabel(distances[win], default_distance),
      PrefetchLabel(std::nullopt, default_distance), stage[win].Median() * 1e-9,
      stage[0].Median() * 1e-9, "GB/s", PairedRatio(stage[win], stage[0])});
  TuningEntry& e = result.entry;
  e = MakeKey(codegen::HostCpu(), isa, table.n_embd, table.vocab, kF16LmHeadKernel);
  // Written only when it is not the default, as for the ternary GEMV: the default may improve.
  if (distances[win]) e.set_gemv_prefetch_bytes(*distances[win]);
  e.set_cpu_brand(codegen::HostCpu().brand);
  e.set_threads(pool.n_threads());
  e.set_candidates(static_cast<int>(stage.size()));
  e.set_decode_gbps(stage[win].Median() * 1e-9);
  e.set_default_decode_gbps(stage[0].Median() * 1e-9);
  return result;
}

}  // namespace bitjit::tuning
