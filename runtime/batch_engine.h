// Several independent sequences sharing one model and one KV cache with a slot per sequence:
// one Step runs the new tokens of any number of slots as a single forward pass (continuous
// batching). Every rounding bitnet.cpp makes depends only on a sequence's own tokens in the
// batch, so a sequence gets exactly the logits it would get alone.
//
// Not thread-safe: one thread (the server's scheduler) drives it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "runtime/model.h"

namespace bitjit {

class BatchEngine {
 public:
  // Throws bitjit::Error when the KV cache for n_slots x n_ctx cannot be had.
  BatchEngine(const Model& model, int n_slots, int64_t n_ctx);

  const Model& model() const { return model_; }
  int n_slots() const { return static_cast<int>(n_past_.size()); }
  int64_t n_ctx() const { return cache_.n_ctx(); }
  int free_slots() const;

  // A free slot, emptied; -1 when all are taken.
  int AcquireSlot();
  void ReleaseSlot(int slot);
  int64_t n_past(int slot) const { return n_past_[slot]; }

  struct Work {
    int slot;
    std::span<const int32_t> tokens;  // appended at the slot's next positions
  };
  // Runs all work items as one batch. logits[i] gets the n_vocab logits after the last token
  // of work[i]. Throws bitjit::Error when a slot would overflow its context or an id is bad.
  void Step(std::span<const Work> work, std::vector<std::vector<float>>* logits);

 private:
  const Model& model_;
  std::unique_ptr<Executor> executor_;
  KvCache cache_;
  std::vector<int64_t> n_past_;
  std::vector<bool> in_use_;
};

}  // namespace bitjit
