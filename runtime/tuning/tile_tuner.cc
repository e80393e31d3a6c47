#include "runtime/tuning/tile_tuner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <tuple>
#include <utility>

#include "codegen/ternary/ternary_layout.h"
#include "ir/base/error.h"
#include "runtime/thread_pool.h"
#include "runtime/tuning/interleaved_bench.h"
#include "runtime/tuning/tile_choice.h"

namespace bitjit::tuning {
namespace {

using codegen::TernaryMatmul;
using codegen::TernaryPackedWeights;
using codegen::TernaryTile;
using Clock = std::chrono::steady_clock;

// Budget shares of the stages (see the header).
constexpr double kDecodeShare = 0.20, kPrefetchShare = 0.10, kPrefillShare = 0.30,
                 kDecodeSplitShare = 0.08, kPrefillSplitShare = 0.12, kConfirmShare = 0.20;
// GEMV prefetch distances tried (bytes), besides the kernels' default.
constexpr int kPrefetchOptions[] = {0, 512, 1024, 1536, 2048, 3072, 4096, 8192};
constexpr int kSplitOptions[] = {kDefaultTasksPerThread, 1, 2, 8, 16};  // default first
constexpr size_t kMaxCopies = 4096;

bool SameTile(const TernaryTile& a, const TernaryTile& b) {
  return a.rows == b.rows && a.tokens == b.tokens && a.packing == b.packing;
}

// Packed copies are shared by the tiles of one layout: same rows and packing.
std::pair<int, int> LayoutKey(const TernaryTile& tile) {
  return {tile.rows, static_cast<int>(tile.packing)};
}

// Packed copies of a shape's weights for one layout, handed out round robin. The model's
// own tensors come first; when they are fewer bytes than `target`, they are repeated, so that
// every call reads its weights from DRAM (decode reads each weight once per token).
class Rotation {
 public:
  Rotation(const TernaryMatmul& mm, const ShapeTensors& t, size_t target) {
    size_t bytes = 0;
    for (size_t i = 0; i < t.i2s.size() && (copies_.empty() || bytes < target); ++i) {
      copies_.push_back(mm.Pack(t.i2s[i], t.scales[i]));
      bytes += copies_.back().bytes;
    }
    const size_t distinct = copies_.size();
    while (bytes < target && copies_.size() < kMaxCopies) {
      const TernaryPackedWeights& src = copies_[copies_.size() % distinct];
      TernaryPackedWeights copy = mm.Allocate(src.scale);
      std::memcpy(copy.data.get(), src.data.get(), src.bytes);
      bytes += copy.bytes;
      copies_.push_back(std::move(copy));  // `src` is not used past this point
    }
  }
  const TernaryPackedWeights& Next() {
    const TernaryPackedWeights& w = copies_[next_];
    next_ = next_ + 1 == copies_.size() ? 0 : next_ + 1;
    return w;
  }

 private:
  std::vector<TernaryPackedWeights> copies_;
  size_t next_ = 0;
};

// Quantized activations of `tokens` tokens (random int8, as BitLinear's quantizer spreads
// them over the whole range) and the output they are multiplied into.
struct Activations {
  Activations(int64_t k, int64_t n, int64_t tokens)
      : q(static_cast<size_t>(k * tokens)),
        q_scale(static_cast<size_t>(tokens), 12.5f),
        q_sum(static_cast<size_t>(tokens)),
        out(static_cast<size_t>(n * tokens)),
        tokens(tokens) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> byte(-127, 127);
    for (int8_t& v : q) v = static_cast<int8_t>(byte(rng));
    TernaryMatmul::ActivationSums(q.data(), k, tokens, q_sum.data());
  }
  std::vector<int8_t> q;
  std::vector<float> q_scale;
  std::vector<int32_t> q_sum;
  std::vector<float> out;
  int64_t tokens;
};

// One matmul over all rows as the executor runs it (runtime/jit_executor.cc, RowTasks):
// min(tiles, tasks_per_thread * threads) tasks of whole tiles, through the F32 epilogue.
void RunSplit(ThreadPool& pool, const TernaryMatmul& mm, const TernaryPackedWeights& w,
              Activations& a, int tasks_per_thread) {
  const int64_t n = mm.n(), tile = mm.tile().rows, tiles = (n + tile - 1) / tile;
  const int64_t chunks =
      std::max<int64_t>(1, std::min<int64_t>(tiles, int64_t{tasks_per_thread} * pool.n_threads()));
  pool.ParallelFor(chunks, [&](int64_t c, int) {
    const int64_t r0 = std::min(n, tiles * c / chunks * tile);
    const int64_t r1 = std::min(n, tiles * (c + 1) / chunks * tile);
    if (r0 < r1) {
      mm.RunF32(w, a.q.data(), a.q_scale.data(), a.tokens, r0, r1, a.out.data(), 0, a.q_sum.data());
    }
  });
}

// Hands each stage its share of the time left to the shape's deadline, so that setup (packing,
// JIT) and overruns of earlier stages are paid by the later ones, not by the total.
class Budget {
 public:
  explicit Budget(double seconds)
      : deadline_(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(seconds))) {}
  double Take(double share, double* shares_left) {
    const double left = std::chrono::duration<double>(deadline_ - Clock::now()).count();
    const double s = std::max(0.0, left) * share / *shares_left;
    *shares_left -= share;
    return s;
  }

 private:
  Clock::time_point deadline_;
};

std::string Ratio(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", r);
  return buf;
}

}  // namespace

std::vector<TernaryTile> AcceptedTiles(int64_t k, int64_t n, codegen::Isa isa) {
  std::vector<TernaryTile> tiles;
  for (auto packing : {codegen::TernaryPacking::k2Bit, codegen::TernaryPacking::k1p6Bit}) {
    if (!codegen::TernaryPackingSupported(isa, packing)) continue;
    for (int rows = 8; rows <= 64; rows *= 2) {  // the layout's range (ternary_layout.h)
      for (int tokens = 1; tokens <= 16; ++tokens) {
        try {
          TernaryMatmul probe(k, n, isa, TernaryTile{rows, tokens, packing});
          tiles.push_back(TernaryTile{rows, tokens, packing});
        } catch (const Error&) {
          break;  // more tokens need more registers: no larger count fits either
        }
      }
    }
  }
  return tiles;
}

std::string PrefetchLabel(std::optional<int> distance, int default_distance) {
  return "pf" + std::to_string(distance.value_or(default_distance));
}

std::string TileLabel(const TernaryTile& tile, bool with_tokens) {
  return std::to_string(tile.rows) + "r" + (with_tokens ? std::to_string(tile.tokens) + "t" : "") +
         (tile.packing == codegen::TernaryPacking::k1p6Bit ? ":1.6b" : ":2b");
}

ShapeTuning TuneShape(const ShapeTensors& t, const TuneOptions& o) {
  if (t.i2s.empty() || t.i2s.size() != t.scales.size()) {
    Fail("tune: no weights given for the ", t.k, "x", t.n, " matmul");
  }
  if (o.prefill_tokens < 2) Fail("tune: prefill needs at least 2 tokens per call");
  Budget budget(o.budget_s);
  const TernaryTile def = DefaultTile(o.isa);
  const std::vector<TernaryTile> tiles = AcceptedTiles(t.k, t.n, o.isa);
  ThreadPool pool(o.threads);
  const int threads = pool.n_threads();
  const bool split = threads > 1;  // one thread: tasks per thread only adds overhead
  double shares_left = kDecodeShare + kPrefetchShare + kPrefillShare + kConfirmShare +
                       (split ? kDecodeSplitShare + kPrefillSplitShare : 0);
  Activations decode_act(t.k, t.n, 1), prefill_act(t.k, t.n, o.prefill_tokens);
  const double decode_bytes = static_cast<double>(t.k) * static_cast<double>(t.n) / 4;
  const double prefill_ops =
      2.0 * static_cast<double>(t.k) * static_cast<double>(t.n) * o.prefill_tokens;
  auto run = [&](std::vector<BenchCandidate>* stage, double share) {
    RunInterleaved(stage, {budget.Take(share, &shares_left), 3, 1000, o.tick});
  };

  // GEMV prefetch distance: unset = the kernels' default (DefaultGemvPrefetchBytes).
  using Prefetch = std::optional<int>;
  std::map<std::tuple<int, int, int, int>, std::unique_ptr<TernaryMatmul>> matmuls;
  auto mm = [&](const TernaryTile& tile, Prefetch prefetch = {}) -> const TernaryMatmul& {
    auto& slot =
        matmuls[{tile.rows, tile.tokens, static_cast<int>(tile.packing), prefetch.value_or(-1)}];
    if (!slot) slot = std::make_unique<TernaryMatmul>(t.k, t.n, o.isa, tile, prefetch);
    return *slot;
  };
  std::map<std::pair<int, int>, std::unique_ptr<Rotation>> rotations;  // by LayoutKey
  auto candidate = [&](const TernaryTile& tile, int tasks_per_thread, bool gemm,
                       Prefetch prefetch = {}) {
    const TernaryMatmul& m = mm(tile, prefetch);
    Rotation* r = rotations.at(LayoutKey(tile)).get();
    Activations* a = gemm ? &prefill_act : &decode_act;
    return BenchCandidate{
        [&pool, &m, r, a, tasks_per_thread] { RunSplit(pool, m, r->Next(), *a, tasks_per_thread); },
        gemm ? prefill_ops : decode_bytes,
        {}};
  };
  auto row = [](std::string kind, int tried, std::string winner, std::string fallback,
                const BenchCandidate& w, const BenchCandidate& d, std::string unit) {
    return TunedRow{std::move(kind), tried,      std::move(winner), std::move(fallback),
                    w.Median(),      d.Median(), std::move(unit),   PairedRatio(w, d)};
  };
  ShapeTuning result;

  // Decode: tile rows and packing (the layout). The GEMV kernel ignores tokens, so any
  // accepted tile of a layout does. Decode work is k*n/4 whatever the packing (bytes at 2 bits
  // per weight), so that layouts compare by weights per second.
  std::vector<TernaryTile> by_rows;
  for (const TernaryTile& tile : tiles) {
    const bool seen = std::any_of(by_rows.begin(), by_rows.end(), [&](const TernaryTile& b) {
      return LayoutKey(b) == LayoutKey(tile);
    });
    if (!seen) by_rows.push_back(LayoutKey(tile) == LayoutKey(def) ? def : tile);
  }
  std::vector<BenchCandidate> stage;
  int fallback = -1;
  for (const TernaryTile& tile : by_rows) {
    rotations[LayoutKey(tile)] = std::make_unique<Rotation>(mm(tile), t, o.rotation_bytes);
    if (SameTile(tile, def)) fallback = static_cast<int>(stage.size());
    stage.push_back(candidate(tile, kDefaultTasksPerThread, false));
  }
  if (fallback < 0)
    Fail("tune: the ", codegen::IsaName(o.isa), " kernels refuse their default tile");
  run(&stage, kDecodeShare);
  const int rows_win =
      PickWinner(stage, std::vector<bool>(stage.size(), true), fallback, o.min_gain);
  const TernaryTile layout = by_rows[rows_win];
  TunedRow decode_row =
      row("decode", static_cast<int>(stage.size()), TileLabel(by_rows[rows_win], false),
          TileLabel(def, false), stage[rows_win], stage[fallback], "GB/s");
  int candidates = static_cast<int>(stage.size());

  // Prefetch: the GEMV's software prefetch distance for that layout, by GB/s, against the
  // kernels' default for it (the distance the decode stage ran with).
  const int default_prefetch = mm(layout).gemv_prefetch_bytes();
  std::vector<Prefetch> distances = {Prefetch{}};
  if (codegen::ResolveIsa(o.isa) != codegen::Isa::kRef) {
    for (int d : kPrefetchOptions)
      if (d != default_prefetch) distances.push_back(d);
  }
  stage.clear();
  for (Prefetch d : distances) stage.push_back(candidate(layout, kDefaultTasksPerThread, false, d));
  if (distances.size() > 1) {
    run(&stage, kPrefetchShare);
  } else {
    budget.Take(kPrefetchShare, &shares_left);
  }
  const int prefetch_win = PickWinner(stage, std::vector<bool>(stage.size(), true), 0, o.min_gain);
  Prefetch prefetch = distances[prefetch_win];
  TunedRow prefetch_row =
      row("prefetch", static_cast<int>(distances.size()), PrefetchLabel(prefetch, default_prefetch),
          PrefetchLabel({}, default_prefetch), stage[prefetch_win], stage[0], "GB/s");
  candidates += static_cast<int>(distances.size());

  // Prefill: tokens per block among the tiles of the chosen layout. With another layout than
  // the default's, the default tile still runs alongside, as the reference for the speedup.
  std::vector<TernaryTile> same_rows;
  for (const TernaryTile& tile : tiles)
    if (LayoutKey(tile) == LayoutKey(layout)) same_rows.push_back(tile);
  stage.clear();
  fallback = -1;
  for (const TernaryTile& tile : same_rows) {
    if (SameTile(tile, def)) fallback = static_cast<int>(stage.size());
    stage.push_back(candidate(tile, kDefaultTasksPerThread, true));
  }
  std::vector<bool> eligible(stage.size(), true);
  int reference = fallback;
  if (fallback < 0) {
    reference = static_cast<int>(stage.size());
    stage.push_back(candidate(def, kDefaultTasksPerThread, true));
    eligible.push_back(false);
  }
  for (auto it = rotations.begin(); it != rotations.end();) {  // free the losers' copies
    const bool keep = it->first == LayoutKey(layout) || it->first == LayoutKey(def);
    it = keep ? std::next(it) : rotations.erase(it);
  }
  run(&stage, kPrefillShare);
  const int tile_win = PickWinner(stage, eligible, fallback, o.min_gain);
  TernaryTile winner = same_rows[tile_win];
  TunedRow prefill_row = row("prefill", static_cast<int>(same_rows.size()), TileLabel(winner, true),
                             TileLabel(def, true), stage[tile_win], stage[reference], "GOPS");
  candidates += static_cast<int>(same_rows.size());

  // Split: row tasks per thread with the winning tile, for decode and for prefill apart.
  // Options that give the same number of tasks are the same configuration and run once.
  int decode_tasks = kDefaultTasksPerThread, prefill_tasks = kDefaultTasksPerThread;
  std::vector<TunedRow> split_rows;
  auto split_stage = [&](bool gemm, double share) {
    const int64_t n_tiles = (t.n + winner.rows - 1) / winner.rows;
    std::vector<int> options;
    std::vector<int64_t> task_counts;
    for (int opt : kSplitOptions) {
      const int64_t tasks =
          std::max<int64_t>(1, std::min<int64_t>(n_tiles, int64_t{opt} * threads));
      if (std::find(task_counts.begin(), task_counts.end(), tasks) != task_counts.end()) continue;
      task_counts.push_back(tasks);
      options.push_back(opt);
    }
    stage.clear();
    for (int opt : options)
      stage.push_back(candidate(winner, opt, gemm, gemm ? Prefetch{} : prefetch));
    if (options.size() > 1) {
      run(&stage, share);
    } else {
      budget.Take(share, &shares_left);  // nothing to compare: the time goes to later stages
    }
    const int win = PickWinner(stage, std::vector<bool>(stage.size(), true), 0, o.min_gain);
    split_rows.push_back(row(gemm ? "split pp" : "split tg", static_cast<int>(options.size()),
                             std::to_string(options[win]) + "/thread",
                             std::to_string(kDefaultTasksPerThread) + "/thread", stage[win],
                             stage[0], gemm ? "GOPS" : "GB/s"));
    candidates += static_cast<int>(options.size());
    return options[win];
  };
  if (split) {
    decode_tasks = split_stage(false, kDecodeSplitShare);
    prefill_tasks = split_stage(true, kPrefillSplitShare);
  }

  // Confirm: the whole winning configuration against the defaults, interleaved.
  if (!SameTile(winner, def) || decode_tasks != kDefaultTasksPerThread ||
      prefill_tasks != kDefaultTasksPerThread || prefetch) {
    stage.clear();
    stage.push_back(candidate(def, kDefaultTasksPerThread, false));
    stage.push_back(candidate(winner, decode_tasks, false, prefetch));
    stage.push_back(candidate(def, kDefaultTasksPerThread, true));
    stage.push_back(candidate(winner, prefill_tasks, true));
    run(&stage, kConfirmShare);
    const double decode_gain = PairedRatio(stage[1], stage[0]);
    const double prefill_gain = PairedRatio(stage[3], stage[2]);
    // Tuning must never make either kind slower: a decode win bought with a prefill loss (or
    // the reverse) is not a win the cache should apply silently.
    const bool keep = decode_gain >= 1 - o.min_gain && prefill_gain >= 1 - o.min_gain &&
                      (ClearlyFaster(stage[1], stage[0], o.min_gain) ||
                       ClearlyFaster(stage[3], stage[2], o.min_gain));
    const int w = keep ? 1 : 0;  // a rejected winner is reported as the defaults vs themselves
    decode_row = row("decode", decode_row.tried, keep ? decode_row.winner : decode_row.fallback,
                     decode_row.fallback, stage[w], stage[0], "GB/s");
    prefill_row =
        row("prefill", prefill_row.tried, keep ? prefill_row.winner : prefill_row.fallback,
            prefill_row.fallback, stage[2 + w], stage[2], "GOPS");
    if (!keep) {
      result.note = TileLabel(winner, true) + " " + PrefetchLabel(prefetch, default_prefetch) +
                    " with " + std::to_string(decode_tasks) + "/" + std::to_string(prefill_tasks) +
                    " tasks per thread (decode/prefill) did not beat the defaults when "
                    "confirmed (decode " +
                    Ratio(decode_gain) + ", prefill " + Ratio(prefill_gain) +
                    "): keeping the defaults";
      winner = def;
      decode_tasks = prefill_tasks = kDefaultTasksPerThread;
      prefetch.reset();
      prefetch_row.winner = prefetch_row.fallback;
      prefetch_row.winner_figure = prefetch_row.default_figure;
      if (prefetch_row.speedup > 0) prefetch_row.speedup = 1;
      for (TunedRow& r : split_rows) {  // as if the default had won the stage
        r.winner = r.fallback;
        r.winner_figure = r.default_figure;
        if (r.speedup > 0) r.speedup = 1;
      }
    }
  }
  result.rows = {decode_row, prefetch_row, prefill_row};
  result.rows.insert(result.rows.end(), split_rows.begin(), split_rows.end());
  for (TunedRow& r : result.rows) {
    r.winner_figure *= 1e-9;
    r.default_figure *= 1e-9;
  }

  TuningEntry& e = result.entry;
  e = MakeKey(codegen::HostCpu(), o.isa, t.k, t.n);
  e.set_tile_rows(winner.rows);
  e.set_tile_tokens(winner.tokens);
  // Only 1.6 bits is written: "" reads as 2 bits, and caches without the field stay readable
  // by older binaries (text format refuses unknown fields).
  if (winner.packing == codegen::TernaryPacking::k1p6Bit) {
    e.set_packing(codegen::TernaryPackingName(winner.packing));
  }
  // Written only when it is not the default, as the packing: the kernels' default may improve.
  if (prefetch) e.set_gemv_prefetch_bytes(*prefetch);
  e.set_decode_tasks_per_thread(split ? decode_tasks : 0);
  e.set_prefill_tasks_per_thread(split ? prefill_tasks : 0);
  e.set_cpu_brand(codegen::HostCpu().brand);
  e.set_threads(threads);
  e.set_prefill_tokens(o.prefill_tokens);
  e.set_candidates(candidates);
  e.set_decode_gbps(decode_row.winner_figure * 1e-9);
  e.set_default_decode_gbps(decode_row.default_figure * 1e-9);
  e.set_prefill_gops(prefill_row.winner_figure * 1e-9);
  e.set_default_prefill_gops(prefill_row.default_figure * 1e-9);
  return result;
}

}  // namespace bitjit::tuning
