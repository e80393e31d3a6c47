#include "tools/default_model.h"

#include <glog/logging.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ir/base/cache_dir.h"
#include "ir/base/error.h"

// tools/default_model.S.
extern "C" const uint8_t bitjit_default_model_begin[];
extern "C" const uint8_t bitjit_default_model_end[];

namespace bitjit::cli {
namespace {

// FNV-1a, 64-bit: enough to tell two default models apart in a file name.
uint64_t Fnv1a(std::span<const uint8_t> bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

}  // namespace

std::span<const uint8_t> EmbeddedDefaultModel() {
  return {bitjit_default_model_begin,
          static_cast<size_t>(bitjit_default_model_end - bitjit_default_model_begin)};
}

std::string DefaultModelPath() {
  const std::span<const uint8_t> bytes = EmbeddedDefaultModel();
  const std::filesystem::path dir = UserCacheDir();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  char name[64];
  std::snprintf(name, sizeof name, "default-bitjit-stories-%016llx.gguf",
                static_cast<unsigned long long>(Fnv1a(bytes)));
  const std::filesystem::path path = dir / name;
  if (std::filesystem::file_size(path, ec) == bytes.size() && !ec) return path.string();
  // Written under a temporary name and renamed, so that processes starting together never
  // read a half-written file.
  LOG(INFO) << "writing the default model to " << path.string();
  const std::filesystem::path tmp = path.string() + ".tmp" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) Fail("cannot write the default model to ", tmp.string());
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) Fail("cannot write the default model to ", path.string(), ": ", ec.message());
  return path.string();
}

}  // namespace bitjit::cli
