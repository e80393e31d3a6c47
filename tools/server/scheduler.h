// Continuous batching for the server. One thread owns the BatchEngine; each active request holds
// one of its KV slots. Every iteration gathers the pending tokens of all active requests (the
// last sampled token of each generating request, and pieces of the prompts still to evaluate,
// at most `prefill_chunk` prompt tokens in all) into ONE Step, has each request's own
// SequenceGenerator (runtime/generation/: the sampler, stop rules and decoder `bitjit run` uses)
// choose its next tokens, and hands the released text to the request's GenerationStream. Prompts
// go in pieces so that a long one delays the other streams by one piece per token, not by the
// whole prompt. A new request gets the free slot whose cache holds the longest prefix of its
// prompt (prompt caching, runtime/batch_engine.h). Requests that find every slot busy wait in a
// bounded FIFO queue and get a slot as soon as one is released; Submit refuses more than that.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/batch_engine.h"
#include "runtime/ngram_draft.h"
#include "runtime/sampler.h"
#include "tools/server/generation_stream.h"

namespace bitjit::server {

// What to generate for one request (already validated: prompt + max_tokens fit the context).
struct GenerationSpec {
  std::vector<int32_t> prompt;
  int max_tokens = 16;
  SamplerParams sampling;
  std::vector<std::string> stop;
  bool ignore_eos = false;
  // -1: none; k >= 0: each sampled token's log probability and the k likeliest tokens' (of the
  // model's logits, before any penalty or filter), sent with the token (TokenLogprobs).
  int n_logprobs = -1;
  bool cache_prompt = true;  // may reuse a slot's cached prefix (off: the whole prompt is run)
};

// One KV slot as /slots and /metrics report it (as of the last step).
struct SlotStats {
  int id = 0;
  bool busy = false;
  int64_t n_past = 0;  // tokens in the slot's cache
  int n_prompt = 0;    // the request's prompt tokens
  int n_decoded = 0;   // tokens generated so far
};

struct SchedulerOptions {
  int n_slots = 4;
  int64_t n_ctx = 0;  // per slot; 0: the model's default
  int max_waiting = 8;
  // Prompt tokens evaluated per step, across all requests (llama-server's ubatch). A piece may
  // be one token longer, so that no piece but a one-token prompt is a lone token.
  int prefill_chunk = 256;
  bool cache_prompt = true;  // false: no request reuses a cached prefix
  // serve --draft: greedy requests (temperature 0) verify tokens drafted from their context
  // (exact speculative decoding: the same tokens, fewer steps); sampling requests decode as
  // without it.
  DraftParams draft;
};

struct SchedulerStats {
  int slots_total = 0;
  int slots_busy = 0;
  int waiting = 0;
  std::vector<SlotStats> slots;  // one per slot, by id
  int64_t kv_tokens = 0;         // the sum of the busy slots' n_past
  bool stopping = false;         // Shutdown() began: no request is taken any more
  bool draining = false;
};

class Scheduler {
 public:
  // Starts the scheduler thread. Throws bitjit::Error when the KV cache cannot be had.
  Scheduler(const Model& model, const SchedulerOptions& options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request. nullptr when n_slots + max_waiting requests are already in (or the
  // scheduler is shutting down): the caller answers 503.
  std::shared_ptr<GenerationStream> Submit(GenerationSpec spec);
  // The request's client has gone: its slot (or queue place) is freed at the next iteration.
  void Cancel(const std::shared_ptr<GenerationStream>& stream);
  // Refuses new requests from now on; those already in go on. Idle() tells when they are done.
  void Drain();
  bool Idle() const;
  // Ends every request (FinishReason::kShutdown), refuses new ones and joins the thread.
  void Shutdown();

  SchedulerStats stats() const;
  int64_t n_ctx() const { return engine_.n_ctx(); }

 private:
  struct Job;
  void Run();
  // Moves waiting requests into free slots; drops cancelled waiting ones. Under mu_.
  void AdmitLocked(std::vector<std::unique_ptr<Job>>* active);
  // Frees the slot of a job that is over and removes it from `active`.
  void Retire(std::vector<std::unique_ptr<Job>>* active, size_t i);
  // One forward pass over all active jobs, then one sampled token for each.
  void Step(std::vector<std::unique_ptr<Job>>* active);
  // Copies the slots' state for stats() (read-only bookkeeping for /slots and /metrics).
  void PublishSlots(const std::vector<std::unique_ptr<Job>>& active);

  const Model& model_;
  BatchEngine engine_;  // touched by the scheduler thread only
  const int n_slots_;   // engine_.n_slots(), for the other threads
  const int max_waiting_;
  const int prefill_chunk_;
  const bool cache_prompt_;
  const DraftParams draft_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> waiting_;
  int busy_ = 0;                  // slots held by active jobs (mirrors engine_ for other threads)
  std::vector<SlotStats> slots_;  // PublishSlots' copy
  bool stopping_ = false;
  bool draining_ = false;
  std::thread thread_;
};

}  // namespace bitjit::server
