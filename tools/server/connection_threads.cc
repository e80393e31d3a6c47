#include "tools/server/connection_threads.h"

namespace bitjit::server {
namespace {

thread_local bool refusing = false;

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
      if (threads_.size() < open_) threads_.emplace_back([this] { Work(); });
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
      wake_.wait(lock, [this] { return shutting_down_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // shutting down, nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
    std::lock_guard<std::mutex> lock(mutex_);
    --open_;
  }
}

void ConnectionThreads::shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shutting_down_ = true;
    threads.swap(threads_);
  }
  wake_.notify_all();
  for (std::thread& t : threads) t.join();
}

}  // namespace bitjit::server
