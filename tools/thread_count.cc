#include "tools/thread_count.h"

#include <algorithm>
#include <thread>

#include "ir/base/error.h"

namespace bitjit::cli {

int MaxThreads() {
  constexpr int kAbsoluteMax = 1024;
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::min(4 * hardware, kAbsoluteMax);
}

void CheckThreadCount(int64_t n, const char* flag) {
  if (n < 0) Fail(flag, " must not be negative");
  if (n > MaxThreads()) {
    Fail(flag, " ", n, " is more than ", MaxThreads(), " threads (4 x this machine's ",
         std::max(1u, std::thread::hardware_concurrency()), " hardware threads, at most 1024)");
  }
}

}  // namespace bitjit::cli
