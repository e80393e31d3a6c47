#include "runtime/kv_cache.h"

namespace bitjit {

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_width, bool f16, int64_t n_seq)
    : n_layer_(n_layer), n_ctx_(n_ctx), kv_width_(kv_width), n_seq_(n_seq), f16_(f16) {
  const int64_t n = n_seq * n_layer * n_ctx * kv_width;
  // new T[] without () leaves the pages untouched until written.
  if (f16) {
    k16_.reset(new uint16_t[n]);
    v16_.reset(new uint16_t[n]);
  } else {
    k32_.reset(new float[n]);
    v32_.reset(new float[n]);
  }
}

}  // namespace bitjit
