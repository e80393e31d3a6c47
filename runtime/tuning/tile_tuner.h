// bitjit tune's search for one ternary matmul shape, measured the way the JIT executor runs it
// (the F32 epilogue, rows split over a thread pool into whole tiles) on the model's own packed
// weights, rotated through copies well beyond the last-level cache so that decode streams them
// from DRAM as it does in a real model.
//
// A TernaryMatmul has one tile for both kernels, and the packed layout depends on its rows, so
// the search is staged (budget shares in parentheses):
//   decode  (20%): tile rows, by GEMV GB/s (decode is memory-bound and dominates generation);
//   prefetch (10%): the GEMV's software prefetch distance with those rows, by GB/s (one core
//                  keeps more misses in flight with it on some CPUs: DefaultGemvPrefetchBytes);
//   prefill (30%): tokens per GEMM block among the tiles with those rows, by GEMM GOPS;
//   split   (8% + 12%): row tasks per thread for decode (GB/s) and for prefill (GOPS), only
//                  with several threads;
//   confirm (20%): the winning configuration against the defaults, interleaved. It must slow
//                  neither decode nor prefill by more than min_gain and be ClearlyFaster
//                  (interleaved_bench.h) at one of them, else the defaults are kept (a stage winner
//                  can be a fluke of a noisy machine, and rows chosen for decode can cost prefill).
//                  Its figures are the ones stored. Skipped when the defaults won every stage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/ternary/ternary_matmul.h"
#include "runtime/tuning/tuning_cache.h"

namespace bitjit::tuning {

// The model's ternary weights of one shape (several tensors: every layer has its own).
struct ShapeTensors {
  int64_t k = 0, n = 0;
  std::vector<const uint8_t*> i2s;  // I2_S codes, I2sCodeBytes(k * n) bytes each
  std::vector<float> scales;
};

struct TuneOptions {
  codegen::Isa isa = codegen::Isa::kAvx2;
  int threads = 1;             // threads of the pool the measurements run on
  int prefill_tokens = 128;    // tokens per GEMM call
  double budget_s = 10;        // wall time for this shape, setup included
  double min_gain = 0.02;      // a candidate must beat the default by this much to replace it
  std::function<void()> tick;  // progress: called after every timed sample
  // Packed weights cycled through per tile rows: 4x a 32 MB L3, so decode reads from DRAM.
  size_t rotation_bytes = size_t{128} << 20;
};

// One line of bitjit tune's table.
struct TunedRow {
  std::string kind;              // "decode", "prefill", "prefetch", "split tg", "split pp"
  int tried = 0;                 // candidates measured
  std::string winner, fallback;  // labels, e.g. "32r", "32r8t", "4/thread"
  // Medians in GB/s or GOPS (`unit`); 0 = not measured.
  double winner_figure = 0, default_figure = 0;
  std::string unit;
  // Winner vs default: PairedRatio (interleaved_bench.h); 0 = not measured.
  double speedup = 0;
};

struct ShapeTuning {
  TuningEntry entry;  // key, winners and figures (tuned_at left empty)
  std::vector<TunedRow> rows;
  std::string note;  // why stage winners were not kept, if they were not
};

// Every tile the ISA's kernels accept for this shape (the kernels' constructors decide).
std::vector<codegen::TernaryTile> AcceptedTiles(int64_t k, int64_t n, codegen::Isa isa);

// "32r" / "32r8t".
std::string TileLabel(const codegen::TernaryTile& tile, bool with_tokens);
// "pf1536"; unset (the kernel's default) is shown as the distance it stands for.
std::string PrefetchLabel(std::optional<int> distance, int default_distance);

// Runs the staged search. Throws bitjit::Error on a bad shape or ISA.
ShapeTuning TuneShape(const ShapeTensors& tensors, const TuneOptions& options);

}  // namespace bitjit::tuning
