// Loading the model a command runs: -m MODEL, or the embedded default (tools/default_model.h,
// written on first use into the user's cache folder), with the numerics, pre-tokenizer and ISA
// flags applied.
#pragma once

#include <memory>
#include <string>

#include "runtime/model.h"

namespace bitjit::cli {

// The model path from -m, or the default model's path (written if missing).
std::string ModelPathFromFlags();
// Overrides of the flags' values for one load (bench measures several); empty = the flag.
struct ModelOverrides {
  std::string ternary_packing;
  std::string lm_head;
  std::string isa;
  // Through the plan cache (--plan-cache, runtime/plan/plan_cache.h); off for commands that
  // inspect or write what a load compiles (compile, ir, crossval).
  bool use_plan_cache = true;
  // A large model's new cache entry written by a detached process while this one runs; off
  // where the run is a measurement (bench), which must not share the machine with a writer.
  bool plan_cache_in_background = true;
};
std::unique_ptr<Model> LoadModelFromFlags(const ModelOverrides& overrides = {});
// True when -m was not given and the embedded synthetic default is used.
bool UsingDefaultModel();

}  // namespace bitjit::cli
