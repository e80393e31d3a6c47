// The thread pool must run every task of every run exactly once, also when runs of few tasks and
// of many follow each other closely: a worker still leaving the previous run once read the new
// run's task count with the old run's cursor, claimed a task twice, and Run then waited forever
// for a done count it had overshot (found as a hung `bitjit serve` under load).
#include "runtime/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace bitjit {
namespace {

TEST(ThreadPool, RunsOfChangingSizeRunEachTaskOnce) {
  ThreadPool pool(2);
  std::vector<std::atomic<int>> runs(64);
  for (int r = 0; r < 200000; ++r) {
    const int64_t n = r % 2 == 0 ? 2 : 64;
    pool.ParallelFor(n, [&](int64_t t, int) { runs[t].fetch_add(1, std::memory_order_relaxed); });
  }
  for (int t = 0; t < 64; ++t) {
    EXPECT_EQ(runs[t].load(), t < 2 ? 200000 : 100000) << "task " << t;
  }
}

}  // namespace
}  // namespace bitjit
