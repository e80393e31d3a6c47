// The task queue httplib runs connections on: a thread for every open connection, up to a cap.
// httplib's ThreadPool has a fixed number of threads and queues every connection past it, so 16
// idle or dripping sockets made /health wait behind them. Here a connection starts at once while
// fewer than `max_connections` are open; past the cap it is refused at once on the accepting
// thread (ConnectionRefusedHere() tells the connection handler so), never queued.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace bitjit::server {

class ConnectionThreads final : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(size_t max_connections) : max_connections_(max_connections) {}
  ~ConnectionThreads() override { shutdown(); }

  void enqueue(std::function<void()> fn) override;
  // Runs what was enqueued to its end, then waits for every thread to be done.
  void shutdown() override;

 private:
  void Work();

  const size_t max_connections_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable gone_;  // live_ reached 0
  std::list<std::function<void()>> jobs_;
  size_t open_ = 0;  // connections queued or running: never more than live_
  size_t live_ = 0;  // threads running Work (detached; each ends when idle, see the .cc)
  bool shutting_down_ = false;
};

// True while the connection handler runs for a connection over the cap: it should refuse it.
bool ConnectionRefusedHere();

}  // namespace bitjit::server
