// The KV cache: per layer and sequence slot, K and V rows of width n_head_kv * head_dim for
// positions 0..n_ctx-1, in f16 (bitnet.cpp's layout and rounding) or f32 (plain float
// numerics). Several slots let one forward step batch tokens of independent sequences.
// Memory is reserved uninitialized, so only the positions a session reaches become resident.
#pragma once

#include <cstdint>
#include <memory>

namespace bitjit {

class KvCache {
 public:
  KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_width, bool f16, int64_t n_seq = 1);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_seq() const { return n_seq_; }
  int64_t kv_width() const { return kv_width_; }
  bool f16() const { return f16_; }
  // Bytes the cache takes when full.
  int64_t bytes() const { return n_seq_ * BytesFor(n_layer_, n_ctx_, kv_width_, f16_); }
  static int64_t BytesFor(int64_t n_layer, int64_t n_ctx, int64_t kv_width, bool f16) {
    return 2 * n_layer * n_ctx * kv_width * (f16 ? 2 : 4);
  }

  // Row pointers (f16 caches: uint16_t, f32 caches: float) of sequence slot `seq`.
  uint16_t* k16(int64_t layer, int64_t pos, int64_t seq = 0) { return k16_.get() + Index(layer, pos, seq); }
  uint16_t* v16(int64_t layer, int64_t pos, int64_t seq = 0) { return v16_.get() + Index(layer, pos, seq); }
  float* k32(int64_t layer, int64_t pos, int64_t seq = 0) { return k32_.get() + Index(layer, pos, seq); }
  float* v32(int64_t layer, int64_t pos, int64_t seq = 0) { return v32_.get() + Index(layer, pos, seq); }

 private:
  int64_t Index(int64_t layer, int64_t pos, int64_t seq) const {
    return ((seq * n_layer_ + layer) * n_ctx_ + pos) * kv_width_;
  }

  int64_t n_layer_, n_ctx_, kv_width_, n_seq_;
  bool f16_;
  std::unique_ptr<uint16_t[]> k16_, v16_;
  std::unique_ptr<float[]> k32_, v32_;
};

}  // namespace bitjit
