#include "runtime/memory_bandwidth.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "codegen/memory/weight_memory.h"
#include "runtime/thread_pool.h"

namespace bitjit {
namespace {

__attribute__((target("avx2"))) uint64_t ReadSum(const uint8_t* p, size_t n) {
  __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
  for (size_t i = 0; i + 128 <= n; i += 128) {
    acc0 = _mm256_add_epi64(acc0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    acc1 = _mm256_add_epi64(acc1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    acc0 = _mm256_add_epi64(acc0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    acc1 = _mm256_add_epi64(acc1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_add_epi64(acc0, acc1));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

}  // namespace

double MeasureReadBandwidth(int n_threads, int repeats) {
  constexpr size_t kBytes = size_t{512} << 20;  // far beyond any L3
  // Weight memory, as the kernels stream: huge pages where the kernel offers them.
  const std::shared_ptr<uint8_t[]> memory = codegen::AllocateWeightMemory(kBytes);
  uint8_t* buf = memory.get();
  std::memset(buf, 1, kBytes);  // fault the pages in before timing
  ThreadPool pool(n_threads);
  // Many tasks, taken as threads free up, as the kernels' row tasks are (a worker that wakes
  // late does not stretch the pass).
  const int64_t tasks = 16 * pool.n_threads();
  std::vector<uint64_t> sink(tasks);
  std::vector<double> gbs;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.ParallelFor(tasks, [&](int64_t t, int) {
      const size_t part = kBytes / tasks / 128 * 128;
      sink[t] += ReadSum(buf + t * part, part);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    gbs.push_back(kBytes / s / 1e9);
  }
  volatile uint64_t keep = sink[0];
  (void)keep;
  std::sort(gbs.begin(), gbs.end());
  return gbs[gbs.size() / 2];  // median of `repeats`
}

}  // namespace bitjit
