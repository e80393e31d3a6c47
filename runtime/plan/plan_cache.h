// Plans made automatically: the first load of a model repacks its weights (and tiles its
// lm_head) and saves the result as a plan in a cache folder; later loads of the same file with
// the same options map that plan instead (Model::LoadPlan validates it like any plan), which
// starts a 2B model in a fraction of the time.
//
// An entry is a folder DIR/<key> holding model.plan and model.plan.weights, where the key hashes
// the model file's identity (device, inode, size, modification time), the options that shape a
// plan (ISA, numerics, lm_head, ternary packing, the tuning cache's identity) and this bitjit
// binary's own identity (a rebuilt bitjit never reads an older build's layouts). Entries are
// written into a temporary folder and renamed into place, so a reader never sees half of one;
// an entry that does not load is replaced; the least recently used beyond `max_entries` go.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/model.h"

namespace bitjit {

struct PlanCacheResult {
  std::unique_ptr<Model> model;
  // One line for the user when something was written or went wrong (empty on a plain hit).
  std::string note;
};

// Model files from this size on have their entry written in the background: a 2B model's plan
// is a gigabyte, which took ~4 of the 5.8 s before the first token of a first run (AMD EPYC
// Zen 5 VM); a small model's is written in place in milliseconds.
inline constexpr uint64_t kBackgroundSaveBytes = uint64_t{64} << 20;

// Loads `model_path` through the plan cache in `dir` (created if missing). Throws
// bitjit::Error as Model::Load does; a cache that cannot be written is reported in `note` and
// the model is loaded all the same. Options that make no plan (isa "ref") bypass the cache.
// On a miss the entry is written before returning, or, for model files of at least
// `background_from_bytes`, by a detached process that outlives this one if need be (the entry
// appears when it is whole; a start before that compiles again).
PlanCacheResult LoadThroughPlanCache(const std::string& model_path, const ModelOptions& options,
                                     const std::string& dir, int max_entries = 4,
                                     uint64_t background_from_bytes = kBackgroundSaveBytes);

// UserCacheDir()/plans.
std::string DefaultPlanCacheDir();

}  // namespace bitjit
