#include "ir/base/cache_dir.h"

#include <cstdlib>

namespace bitjit {

std::filesystem::path UserCacheDir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  return xdg && *xdg     ? std::filesystem::path(xdg) / "bitjit"
         : home && *home ? std::filesystem::path(home) / ".cache" / "bitjit"
                         : std::filesystem::temp_directory_path() / "bitjit";
}

}  // namespace bitjit
