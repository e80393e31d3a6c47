#include "tools/server/connection_threads.h"

#include <chrono>

namespace bitjit::server {
namespace {

thread_local bool refusing = false;

// A thread with no connection for this long ends: after a burst of clients, the threads (and
// the free blocks each keeps in glibc's per-thread cache) go instead of staying resident.
constexpr std::chrono::milliseconds kIdleThreadLife{500};

}  // namespace

bool ConnectionRefusedHere() {
  return refusing;
}

void ConnectionThreads::enqueue(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!shutting_down_ && open_ < max_connections_) {
      jobs_.push_back(std::move(fn));
      ++open_;
      // Idle threads are reused; a new one only when every thread has a connection.
      if (live_ < open_) {
        ++live_;
        std::thread([this] { Work(); }).detach();
      }
      wake_.notify_one();
      return;
    }
  }
  // Over the cap: the handler, told so, answers 503 without blocking and closes the socket.
  refusing = true;
  fn();
  refusing = false;
}

void ConnectionThreads::Work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      const bool woken = wake_.wait_for(lock, kIdleThreadLife,
                                        [this] { return shutting_down_ || !jobs_.empty(); });
      if (!woken || jobs_.empty()) {  // idle too long, or shutting down with nothing left
        // Notified under the lock: shutdown() sees live_ == 0 only once this thread is done
        // with the object.
        if (--live_ == 0) gone_.notify_all();
        return;
      }
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
    std::lock_guard<std::mutex> lock(mutex_);
    --open_;
  }
}

void ConnectionThreads::shutdown() {
  std::unique_lock<std::mutex> lock(mutex_);
  shutting_down_ = true;
  wake_.notify_all();
  gone_.wait(lock, [this] { return live_ == 0; });
}

}  // namespace bitjit::server
