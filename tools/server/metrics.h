// GET /metrics (with --metrics): llama-server's Prometheus counters and gauges, under its names
// (llamacpp:prompt_tokens_total, ...), so that dashboards made for llama-server work unchanged.
// Counters grow when a request ends normally; gauges are read from the scheduler when scraped.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "tools/server/reply_writer.h"
#include "tools/server/scheduler.h"

namespace bitjit::server {

class ServerMetrics {
 public:
  void RecordCompletion(const ReplyTotals& totals);
  // The Prometheus text exposition (version 0.0.4).
  std::string Render(const SchedulerStats& stats, int64_t n_ctx) const;

 private:
  mutable std::mutex mu_;
  uint64_t prompt_tokens_ = 0, predicted_tokens_ = 0, requests_ = 0;
  double prompt_seconds_ = 0, predicted_seconds_ = 0;
};

}  // namespace bitjit::server
