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

#include <memory>
#include <string>

#include "runtime/model.h"

namespace bitjit {

struct PlanCacheResult {
  std::unique_ptr<Model> model;
  // One line for the user when something was written or went wrong (empty on a plain hit).
  std::string note;
};

// Loads `model_path` through the plan cache in `dir` (created if missing). Throws
// bitjit::Error as Model::Load does; a cache that cannot be written is reported in `note` and
// the model is loaded all the same. Options that make no plan (isa "ref") bypass the cache.
PlanCacheResult LoadThroughPlanCache(const std::string& model_path, const ModelOptions& options,
                                     const std::string& dir, int max_entries = 4);

// UserCacheDir()/plans.
std::string DefaultPlanCacheDir();

}  // namespace bitjit
