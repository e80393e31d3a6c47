// The user's cache folder for bitjit: $XDG_CACHE_HOME/bitjit, else ~/.cache/bitjit, else
// /tmp/bitjit. The embedded default model, the tuning cache and the plan cache live under it.
#pragma once

#include <filesystem>

namespace bitjit {

std::filesystem::path UserCacheDir();

}  // namespace bitjit
