// What a step of the forward pass sees while it runs: the batch, where each value's data is
// this step, the KV cache, and the executor's threads and scratch. One per executor; steps
// themselves are shared and immutable.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "ir/base/error.h"
#include "ir/graph.h"
#include "runtime/batch_layout.h"
#include "runtime/executor.h"
#include "runtime/kv_cache.h"
#include "runtime/thread_pool.h"

namespace bitjit::ops {

// A 64-byte aligned growable byte buffer (grows only; no allocation once warm).
class AlignedBuffer {
 public:
  uint8_t* Get(size_t bytes) {
    if (bytes > size_) {
      size_ = std::max(bytes, size_ * 2);
      data_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, (size_ + 63) / 64 * 64)));
      if (!data_) Fail("out of memory allocating ", size_, " bytes of activations");
    }
    return data_.get();
  }
  template <typename T>
  T* Get(int64_t count) {
    return reinterpret_cast<T*>(Get(static_cast<size_t>(count) * sizeof(T)));
  }

 private:
  struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, FreeDeleter> data_;
  size_t size_ = 0;
};

// Scratch the JIT steps share within one executor (a step uses it only while it runs).
struct StepScratch {
  AlignedBuffer q, q_scale, q_sum, normed, tmp, x_row, q8;  // bitlinear and lm_head inputs
  std::vector<std::vector<float>> scores;                   // attention, one per thread
};

struct StepContext {
  const StepInputs& in;
  const BatchLayout& layout;
  KvCache& cache;
  ThreadPool& pool;
  StepScratch& scratch;
  std::vector<void*>& ptr;  // per value id: where its data is this step
  float* logits;            // the step's output: n_rows x n_vocab
  int64_t n_tokens, n_rows;

  template <typename T = float>
  T* Data(const ir::Value* v) const {
    return static_cast<T*>(ptr[v->id]);
  }
  // A dimension with the symbols T and R resolved.
  int64_t Dim(int64_t d) const { return d == ir::kTokens ? n_tokens : d == ir::kRows ? n_rows : d; }
  int64_t Count(const ir::Value* v) const { return v->shape.NumElements(n_tokens, n_rows); }
  // The cache slot token t writes and attends to.
  int64_t Seq(int64_t t) const { return in.seq_ids.empty() ? 0 : in.seq_ids[t]; }
};

}  // namespace bitjit::ops
