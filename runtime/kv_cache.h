// The KV cache: per layer, K and V rows of width n_head_kv * head_dim for positions
// 0..n_ctx-1, in f16 (bitnet.cpp's layout and rounding) or f32 (plain float numerics).
// Memory is reserved uninitialized, so only the positions a session reaches become resident.
#pragma once

#include <cstdint>
#include <memory>

namespace bitjit {

class KvCache {
 public:
  KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_width, bool f16);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t kv_width() const { return kv_width_; }
  bool f16() const { return f16_; }
  // Bytes the cache takes when full.
  int64_t bytes() const { return 2 * n_layer_ * n_ctx_ * kv_width_ * (f16_ ? 2 : 4); }
  static int64_t BytesFor(int64_t n_layer, int64_t n_ctx, int64_t kv_width, bool f16) {
    return 2 * n_layer * n_ctx * kv_width * (f16 ? 2 : 4);
  }

  // Row pointers (f16 caches: uint16_t, f32 caches: float).
  uint16_t* k16(int64_t layer, int64_t pos) { return k16_.get() + Index(layer, pos); }
  uint16_t* v16(int64_t layer, int64_t pos) { return v16_.get() + Index(layer, pos); }
  float* k32(int64_t layer, int64_t pos) { return k32_.get() + Index(layer, pos); }
  float* v32(int64_t layer, int64_t pos) { return v32_.get() + Index(layer, pos); }

 private:
  int64_t Index(int64_t layer, int64_t pos) const { return (layer * n_ctx_ + pos) * kv_width_; }

  int64_t n_layer_, n_ctx_, kv_width_;
  bool f16_;
  std::unique_ptr<uint16_t[]> k16_, v16_;
  std::unique_ptr<float[]> k32_, v32_;
};

}  // namespace bitjit
