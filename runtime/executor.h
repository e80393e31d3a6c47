// What runs a compiled forward step. The reference interpreter and the JIT-compiled plan both
// implement it, so the engine and the tests can swap one for the other.
#pragma once

#include <cstdint>
#include <span>

#include "runtime/kv_cache.h"

namespace bitjit {

struct StepInputs {
  std::span<const int32_t> tokens;       // T ids
  std::span<const int32_t> positions;    // T positions (their K/V go to these cache rows)
  std::span<const int32_t> output_rows;  // R indices into 0..T-1 whose logits are wanted
  // T cache slots (which sequence each token belongs to); empty means slot 0 for all. A token
  // attends to positions 0..positions[t] of its own slot.
  std::span<const int32_t> seq_ids = {};
  // T flags, or empty for none. A token flagged 1 is computed as it would be alone in a
  // one-token step (bitnet.cpp's decode roundings, and the one-row lm_head's for its logits
  // row) while still attending to the tokens before it in this step: several drafted tokens of
  // one sequence are verified in one pass, each row bit-identical to plain decode steps.
  std::span<const uint8_t> decode_steps = {};
};

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs one step; writes R * n_vocab logits. Positions must be < cache.n_ctx(), and every
  // earlier position of the sequence must already be in the cache.
  virtual void Forward(const StepInputs& in, KvCache& cache, float* logits) = 0;
  virtual const char* name() const = 0;
};

}  // namespace bitjit
