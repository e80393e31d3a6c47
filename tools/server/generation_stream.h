// The channel between the scheduler thread, which produces one request's reply text, and the
// HTTP thread that owns the request's connection and forwards the text. The scheduler appends
// text and finally the end; the connection side waits for news, and cancels when its client
// has gone (the scheduler then frees the request's slot at its next iteration).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tools/server/finish_reason.h"
#include "tools/server/token_logprobs.h"

namespace bitjit::server {

class GenerationStream {
 public:
  explicit GenerationStream(int prompt_tokens) : prompt_tokens_(prompt_tokens) {}

  struct Update {
    std::string text;  // text released since the previous update
    bool finished = false;
    FinishReason finish_reason = FinishReason::kStop;
    int completion_tokens = 0;           // set once finished
    std::vector<GeneratedToken> tokens;  // sampled since the previous update
  };
  // When the request got its slot, when its first token came (its prompt was evaluated) and
  // when it ended: llama-server's timings. Read once finished.
  struct Timings {
    double queued_ms = 0, prompt_ms = 0, predicted_ms = 0;
    int draft_n = 0, draft_n_accepted = 0;  // serve --draft: tokens drafted, and accepted
  };
  // Connection side: waits up to `timeout` for text or the end. Returns false when nothing
  // happened in that time (the caller then checks that its client is still there).
  bool Wait(std::chrono::milliseconds timeout, Update* update);
  int prompt_tokens() const { return prompt_tokens_; }
  Timings timings();
  // Prompt tokens found in the slot's cache (prompt caching); -1 until the request has a slot.
  int cached_tokens() const { return cached_tokens_.load(std::memory_order_acquire); }

  // Scheduler side.
  void MarkAdmitted();
  // The text released by one sampled token (maybe none) and the token.
  void Append(std::string_view text, GeneratedToken token);
  void Finish(FinishReason reason, int completion_tokens);
  // One verification step of drafted tokens (serve --draft).
  void CountDraft(int drafted, int accepted);
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  void set_cached_tokens(int n) { cached_tokens_.store(n, std::memory_order_release); }

 private:
  friend class Scheduler;  // sets cancelled_ under its own lock (Scheduler::Cancel)

  const int prompt_tokens_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
  std::vector<GeneratedToken> tokens_;
  using Clock = std::chrono::steady_clock;
  Clock::time_point submitted_ = Clock::now(), admitted_ = submitted_, first_token_ = submitted_,
                    ended_ = submitted_;
  bool has_token_ = false;
  bool finished_ = false;
  FinishReason finish_reason_ = FinishReason::kStop;
  int completion_tokens_ = 0;
  int draft_n_ = 0, draft_n_accepted_ = 0;
  std::atomic<bool> cancelled_{false};
  std::atomic<int> cached_tokens_{-1};
};

}  // namespace bitjit::server
