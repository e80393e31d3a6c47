// The default model every command runs without -m: models/bitjit-stories.gguf (a small
// bitnet-b1.58 model trained on generated stories by tools/train/train.py), embedded in the
// binary and written on first use into the user's cache folder.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace bitjit::cli {

// The embedded GGUF's bytes.
std::span<const uint8_t> EmbeddedDefaultModel();

// The cached copy's path, written first if missing. The name carries a hash of the bytes, so a
// binary with another default model never reads a stale copy.
std::string DefaultModelPath();

}  // namespace bitjit::cli
