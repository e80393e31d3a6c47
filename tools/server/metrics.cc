#include "tools/server/metrics.h"

#include <cstdio>

namespace bitjit::server {
namespace {

void Metric(std::string* out, const char* type, const char* name, const char* help, double value) {
  char line[64];
  std::snprintf(line, sizeof(line), "%.17g", value);
  *out += std::string("# HELP llamacpp:") + name + " " + help + "\n# TYPE llamacpp:" + name + " " +
          type + "\nllamacpp:" + name + " " + line + "\n";
}

}  // namespace

void ServerMetrics::RecordCompletion(const ReplyTotals& t) {
  std::lock_guard lock(mu_);
  ++requests_;
  prompt_tokens_ += static_cast<uint64_t>(t.prompt_tokens);
  predicted_tokens_ += static_cast<uint64_t>(t.completion_tokens);
  prompt_seconds_ += t.timings.prompt_ms / 1e3;
  predicted_seconds_ += t.timings.predicted_ms / 1e3;
}

std::string ServerMetrics::Render(const SchedulerStats& s, int64_t n_ctx) const {
  std::lock_guard lock(mu_);
  const double capacity = double(s.slots_total) * double(n_ctx);
  std::string out;
  Metric(&out, "counter", "prompt_tokens_total",
         "Prompt tokens evaluated since the server started.", double(prompt_tokens_));
  Metric(&out, "counter", "prompt_seconds_total", "Seconds spent evaluating prompts.",
         prompt_seconds_);
  Metric(&out, "counter", "tokens_predicted_total", "Tokens generated since the server started.",
         double(predicted_tokens_));
  Metric(&out, "counter", "tokens_predicted_seconds_total", "Seconds spent generating tokens.",
         predicted_seconds_);
  Metric(&out, "counter", "requests_completed_total", "Requests that ended normally.",
         double(requests_));
  Metric(&out, "gauge", "prompt_tokens_seconds",
         "Prompt tokens per second over all requests so far.",
         prompt_seconds_ > 0 ? double(prompt_tokens_) / prompt_seconds_ : 0.0);
  Metric(&out, "gauge", "predicted_tokens_seconds",
         "Generated tokens per second over all requests so far.",
         predicted_seconds_ > 0 ? double(predicted_tokens_) / predicted_seconds_ : 0.0);
  Metric(&out, "gauge", "kv_cache_usage_ratio",
         "Share of the KV cache's token places in use (1 = full).",
         capacity > 0 ? double(s.kv_tokens) / capacity : 0.0);
  Metric(&out, "gauge", "kv_cache_tokens", "Tokens held in the KV cache by busy slots.",
         double(s.kv_tokens));
  Metric(&out, "gauge", "requests_processing", "Requests holding a slot now.",
         double(s.slots_busy));
  Metric(&out, "gauge", "requests_deferred", "Requests waiting for a slot.", double(s.waiting));
  return out;
}

}  // namespace bitjit::server
