// Persistent worker threads owned by the runtime. Run() hands out task indices 0..n-1 to the
// caller and the workers through one atomic cursor and returns when every task is done. The
// caller works too and waits for tasks, not for threads: on a loaded machine a descheduled
// worker must not stall every parallel region (a decode step has hundreds). The cursor holds
// (run generation << 32 | next task), so a worker that wakes late can never claim a task of a
// newer run it has not read. Workers spin briefly after each run, then sleep on a condition
// variable. No allocation or locking on the hot path.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bitjit {

class ThreadPool {
 public:
  // n_threads includes the calling thread; 0 = physical cores.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(task, thread) for every task in [0, n_tasks); thread is in [0, n_threads()).
  // Not reentrant: call from one thread at a time.
  using Task = void (*)(void* ctx, int64_t task, int thread);
  void Run(int64_t n_tasks, Task fn, void* ctx);
  template <typename F>
  void ParallelFor(int64_t n_tasks, F&& f) {
    Run(n_tasks, [](void* c, int64_t t, int th) { (*static_cast<F*>(c))(t, th); }, &f);
  }

  static int PhysicalCores();

 private:
  void WorkerLoop(int thread);
  void Work(uint64_t generation, int thread);

  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> cursor_{0};  // generation << 32 | next task index
  std::atomic<int64_t> done_{0};     // tasks of the current run finished
  std::atomic<int64_t> n_tasks_{0};
  Task fn_ = nullptr;
  void* ctx_ = nullptr;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable wake_;
};

}  // namespace bitjit
