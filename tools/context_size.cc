#include "tools/context_size.h"

#include <cstdio>

#include <unistd.h>

#include <algorithm>
#include <limits>

#include "ir/base/error.h"
#include "runtime/kv_cache.h"
#include "tools/flags.h"

DEFINE_bool(allow_long_context, false,
            "allow a context (-c) beyond the model's trained context length");

namespace bitjit::cli {
namespace {

int64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return std::numeric_limits<int64_t>::max();  // unknown: no limit
  return static_cast<int64_t>(pages) * page;
}

}  // namespace

void CheckContextSize(const Model& model, int64_t n_ctx, int n_slots, const std::string& what) {
  const ModelConfig& config = model.config();
  if (n_ctx > config.n_ctx_train && !FLAGS_allow_long_context) {
    Fail(what, " is beyond the model's trained context of ", config.n_ctx_train,
         " tokens; give --allow-long-context to run it anyway");
  }
  // In long double: slots x context x bytes per token may not fit in 64 bits.
  const bool f16 = model.options().numerics == ir::Numerics::kBitnet;
  const long double kv_bytes =
      static_cast<long double>(n_slots) *
      static_cast<long double>(KvCache::BytesFor(config.n_layer, 1, config.n_embd_kv(), f16)) *
      static_cast<long double>(n_ctx);
  const int64_t memory = PhysicalMemoryBytes();
  if (kv_bytes > static_cast<long double>(memory)) {
    Fail(what, (n_slots > 1 ? " for " + std::to_string(n_slots) + " slots" : std::string()),
         " needs ", static_cast<unsigned long long>(std::min(kv_bytes, 1e19L)),
         " bytes of KV cache, more than this machine's ", memory, " bytes of memory");
  }
  // Allowed past training (checked above): say so once the size is known to be usable.
  if (n_ctx > config.n_ctx_train) {
    std::fprintf(stderr, "warning: %s is beyond the model's trained context of %lld tokens\n",
                 what.c_str(), static_cast<long long>(config.n_ctx_train));
  }
}

int64_t ContextFromFlags(const Model& model, int n_slots) {
  if (FLAGS_c < 0) Fail("-c must not be negative");
  if (FLAGS_c > 0) {
    CheckContextSize(model, FLAGS_c, n_slots, "-c " + std::to_string(FLAGS_c));
    return FLAGS_c;
  }
  // The default fits one slot's budget; many slots of it may still not fit the machine.
  const int64_t n_ctx = model.DefaultContext();
  CheckContextSize(model, n_ctx, n_slots,
                   "the default context of " + std::to_string(n_ctx) + " tokens");
  return n_ctx;
}

}  // namespace bitjit::cli
