// The tuning cache: what `bitjit tune` measured, kept per CPU microarchitecture so that
// compilation on the same kind of machine picks the measured winner (tile_choice.h).
//
// It is a Protobuf text-format file (tuning.proto), by default
// $XDG_CACHE_HOME/bitjit/tuning.textproto (else ~/.cache/bitjit/...), overridden by
// $BITJIT_TUNING_CACHE and, above that, by SetTuningCachePath (the --tuning-cache flag).
// Reading is forgiving: a missing file is an empty cache and a damaged one is a warning and an
// empty cache, because a bad cache must never stop a model from running; fields a newer bitjit
// added are skipped, so its measurements still apply here. Writing merges into what is on disk
// (re-tuning replaces matching keys only) and replaces the file atomically.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "tuning.pb.h"

namespace bitjit::tuning {

inline constexpr uint32_t kTuningFormatVersion = 1;

// TuningEntry.kernel of the F16 lm_head GEMV's entries (a ternary matmul's is "").
inline constexpr char kF16LmHeadKernel[] = "f16_lm_head";

// An entry with only its key fields set: this CPU kind, `isa`, the kernel and the shape.
TuningEntry MakeKey(const codegen::CpuIdentity& cpu, codegen::Isa isa, int64_t k, int64_t n,
                    const std::string& kernel = "");
// True when a and b have the same key (vendor, family, model, isa, kernel, k, n).
bool SameKey(const TuningEntry& a, const TuningEntry& b);

// The entry of `cache` whose key equals `key`'s, or null.
const TuningEntry* FindEntry(const TuningCache& cache, const TuningEntry& key);
// Replaces the entries whose key matches one in `updates`, appends the others.
void MergeEntries(TuningCache* cache, const std::vector<TuningEntry>& updates);

// Text format <-> message. Parse throws bitjit::Error naming `origin` and the line on bad text
// or an unknown format_version. Fields this build does not know (a newer bitjit's) are skipped:
// the first is described in *unknown_field ("" when none), or logged as a warning when
// `unknown_field` is null.
TuningCache ParseTuningCache(const std::string& text, const std::string& origin,
                             std::string* unknown_field = nullptr);
std::string FormatTuningCache(const TuningCache& cache);

// Reads the file at `path`; a missing file is an empty cache. Throws bitjit::Error when it
// cannot be read or parsed. `unknown_field` as for ParseTuningCache.
TuningCache ReadTuningCacheFile(const std::string& path, std::string* unknown_field = nullptr);
// ReadTuningCacheFile, but a failure is a logged warning and an empty cache.
TuningCache ReadTuningCacheOrEmpty(const std::string& path);

// Merges `updates` into the file at `path` and rewrites it atomically (temporary file in the
// same folder + rename), creating folders as needed. Concurrent writers are serialized by an
// advisory lock on PATH.lock and each re-reads the file under it, so none loses the other's
// entries. A damaged existing file is replaced (with a warning); one with fields this build does
// not know is not rewritten (that would drop them). Throws bitjit::Error on I/O failure and on
// such a file.
void MergeIntoTuningCacheFile(const std::string& path, const std::vector<TuningEntry>& updates);
// Throws the error MergeIntoTuningCacheFile would throw on a file it must not rewrite, so that
// `bitjit tune` says so before its minutes of measuring.
void CheckTuningCacheRewritable(const std::string& path);

// Where this process reads and writes its cache (see the top of this file).
std::string TuningCachePath();
// Overrides the path ("" = back to $BITJIT_TUNING_CACHE / the default) and forgets the cache
// this process has loaded, so the next ProcessTuningCache() reads the new path.
void SetTuningCachePath(const std::string& path);
// The cache at TuningCachePath(), read once per process (thread-safe). Never throws.
std::shared_ptr<const TuningCache> ProcessTuningCache();

}  // namespace bitjit::tuning
