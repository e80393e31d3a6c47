// Several independent sequences sharing one model and one KV cache with a slot per sequence:
// one Step runs the new tokens of any number of slots as a single forward pass (continuous
// batching). Every rounding bitnet.cpp makes depends only on a sequence's own tokens in the
// batch, so a sequence gets exactly the logits it would get alone.
//
// A released slot keeps its cache (prompt caching): AcquireSlot gives a new sequence the free
// slot whose cached tokens share the longest prefix with its prompt, so only the rest of the
// prompt need be evaluated. bitnet.cpp rounds attention differently for a token evaluated alone
// (a decode step) than for one of a multi-token batch, so only the cached tokens that came in
// multi-token steps from position 0 on are reused, and at least two prompt tokens are left to
// evaluate: the logits are then bit-identical to evaluating the whole prompt at once.
//
// Not thread-safe: one thread drives it (the server's scheduler; a GenerationSession, one slot,
// for `run`, `--chat` and llama-cli).
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
  int n_slots() const { return static_cast<int>(slots_.size()); }
  int64_t n_ctx() const { return cache_.n_ctx(); }
  int free_slots() const;

  // A free slot for a sequence that begins with `prompt`; -1 when all are taken. With `reuse`,
  // the slot whose cache shares the longest reusable prefix with `prompt` (ties: the one free
  // the longest), its cache cut to that prefix: n_past(slot) prompt tokens are then in already.
  // Without, the slot free the longest, emptied.
  int AcquireSlot(std::span<const int32_t> prompt = {}, bool reuse = false);
  // The slot's cache stays for a later AcquireSlot.
  void ReleaseSlot(int slot);
  int64_t n_past(int slot) const { return slots_[slot].tokens.size(); }
  // Forgets the slot's positions >= n (drafted tokens that were not accepted).
  void Truncate(int slot, int64_t n);

  struct Work {
    int slot;
    std::span<const int32_t> tokens;  // appended at the slot's next positions
    bool logits = true;               // false: a piece of a prompt whose logits nobody needs
    // Each token computed as its own one-token step would compute it, and the logits of every
    // token returned: drafted tokens verified in one pass (exact speculative decoding).
    bool decode_steps = false;
  };
  // Runs all work items as one batch. logits[i] gets the n_vocab logits after the last token
  // of work[i] (after each of its tokens with decode_steps; empty when work[i].logits is false).
  // Throws bitjit::Error when a slot would overflow its context or an id is bad.
  void Step(std::span<const Work> work, std::vector<std::vector<float>>* logits);

 private:
  struct Slot {
    bool in_use = false;
    std::vector<int32_t> tokens;  // the tokens whose K and V are in the cache, in order
    // Leading tokens of `tokens` computed exactly as one multi-token evaluation from position 0
    // computes them: the part another prompt may reuse.
    size_t reusable = 0;
    uint64_t released_at = 0;  // release order (0: never used), for "free the longest"
  };

  const Model& model_;
  std::unique_ptr<Executor> executor_;
  KvCache cache_;
  // bitnet numerics round a lone token's attention differently (see above); float32 ones don't.
  const bool lone_tokens_differ_;
  std::vector<Slot> slots_;
  uint64_t releases_ = 0;
};

}  // namespace bitjit
