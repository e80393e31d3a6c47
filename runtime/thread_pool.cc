#include "runtime/thread_pool.h"

#include <immintrin.h>

#include <fstream>
#include <set>
#include <string>

namespace bitjit {
namespace {
constexpr int kSpinIterations = 1 << 16;  // ~50-100 us of spinning before sleeping
}

int ThreadPool::PhysicalCores() {
  // Distinct (physical id, core id) pairs of /proc/cpuinfo; hardware_concurrency otherwise.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<int, int>> cores;
  std::string line;
  int phys = 0;
  while (std::getline(in, line)) {
    if (line.rfind("physical id", 0) == 0) phys = std::stoi(line.substr(line.find(':') + 1));
    if (line.rfind("core id", 0) == 0)
      cores.insert({phys, std::stoi(line.substr(line.find(':') + 1))});
  }
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  return cores.empty() ? std::max(hw, 1) : static_cast<int>(cores.size());
}

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = PhysicalCores();
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::Work(uint64_t generation, int thread) {
  for (;;) {
    uint64_t c = cursor_.load(std::memory_order_acquire);
    if ((c >> 32) != (generation & 0xffffffffu)) return;  // a newer run: not ours to touch
    const int64_t task = static_cast<int64_t>(c & 0xffffffffu);
    if (task >= n_tasks_.load(std::memory_order_acquire)) return;  // see Run
    if (!cursor_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) continue;
    fn_(ctx_, task, thread);
    done_.fetch_add(1, std::memory_order_release);
  }
}

void ThreadPool::WorkerLoop(int thread) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < kSpinIterations; ++spin) {
      _mm_pause();
      g = generation_.load(std::memory_order_acquire);
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      g = generation_.load();
    }
    seen = g;
    if (stop_) return;
    Work(g, thread);
  }
}

void ThreadPool::Run(int64_t n_tasks, Task fn, void* ctx) {
  if (n_tasks <= 0) return;
  if (workers_.empty() || n_tasks == 1) {
    for (int64_t t = 0; t < n_tasks; ++t) fn(ctx, t, 0);
    return;
  }
  // Every task of the previous run is done, so no worker is inside fn_. The cursor moves to the
  // new generation FIRST: a worker still leaving the previous run may read the new n_tasks_
  // with the old cursor, and when the old cursor was still there its claim succeeded: it ran a
  // task of this run twice and overshot done_, and this run then waited forever (a hung server
  // under load). Now a worker that sees the new n_tasks_ (acquire) also sees the new cursor, and
  // its claim of an old-generation task fails. Nobody claims a task of the new generation before
  // generation_ publishes it below, so the other fields are free to write until then.
  const uint64_t g = generation_.load(std::memory_order_relaxed) + 1;
  cursor_.store((g & 0xffffffffu) << 32, std::memory_order_release);
  fn_ = fn;
  ctx_ = ctx;
  done_.store(0, std::memory_order_relaxed);
  n_tasks_.store(n_tasks, std::memory_order_release);
  {
    // Publishing under the mutex pairs with the sleepers' wait; spinners see the atomic.
    std::lock_guard<std::mutex> lock(mu_);
    generation_.store(g, std::memory_order_release);
  }
  wake_.notify_all();
  Work(g, 0);
  while (done_.load(std::memory_order_acquire) != n_tasks) _mm_pause();
}

}  // namespace bitjit
