// libFuzzer target: the tuning cache reader (runtime/tuning/tuning_cache.h) on arbitrary text.
// The cache is a hand-editable Protobuf text file that every `compile`, `run` and `serve`
// reads at start, and this reader skips fields it does not know (a newer bitjit's), so a
// hostile or corrupt file must end as a bitjit::Error or a cache, never a crash: protobuf
// recurses without a depth limit while skipping an unknown message, which ParseTuningCache
// guards against. A parsed cache must also survive what its readers do with it: formatting it
// back, parsing that again (the same entries), and a lookup of every entry's own key.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ir/base/error.h"
#include "runtime/tuning/tuning_cache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bitjit;
  const std::string text(reinterpret_cast<const char*>(data), size);
  tuning::TuningCache cache;
  std::string unknown;
  try {
    cache = tuning::ParseTuningCache(text, "fuzz", &unknown);
  } catch (const Error&) {
    return 0;
  }
  for (const tuning::TuningEntry& e : cache.entries()) {
    if (tuning::FindEntry(cache, e) == nullptr) std::abort();  // its own key must find an entry
  }
  const tuning::TuningCache again =
      tuning::ParseTuningCache(tuning::FormatTuningCache(cache), "formatted", &unknown);
  if (again.entries_size() != cache.entries_size() || !unknown.empty()) std::abort();
  return 0;
}
