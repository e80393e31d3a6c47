#include "tools/server/scheduler.h"

#include <glog/logging.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "tools/server/prefill_piece.h"
#include "tools/server/reply_text.h"

namespace bitjit::server {
namespace {

constexpr std::chrono::seconds kIdleBeforeTrim{2};

// Once the server has been idle for kIdleBeforeTrim (after the idle connection threads have
// ended, tools/server/connection_threads.cc): glibc keeps the free pages of each thread's arena,
// and with a connection thread per client the arenas' resident pages crept up (heaptrack found
// no leak over 3,000 requests; the heap peaked at 5 MB while RSS grew ~1% per 1,000 requests).
// Trimming hands them back, so an idle server's RSS stays near its working set.
void ReturnFreeMemory() {
  malloc_trim(0);
}

}  // namespace

struct Scheduler::Job {
  Job(const Tokenizer& tokenizer, GenerationSpec s, std::shared_ptr<GenerationStream> st)
      : spec(std::move(s)),
        stream(std::move(st)),
        sampler(spec.sampling),
        reply(tokenizer, spec.stop, spec.max_tokens, spec.ignore_eos) {
    sampler.Remember(spec.prompt);  // the repetition window starts with the prompt, as in `run`
    history = spec.prompt;
  }

  GenerationSpec spec;
  std::shared_ptr<GenerationStream> stream;
  Sampler sampler;
  ReplyText reply;
  bool prefilled() const { return evaluated == spec.prompt.size(); }

  int slot = -1;
  size_t evaluated = 0;  // prompt tokens in the slot's cache (reused or evaluated)
  int32_t last = -1;     // the last sampled token, fed at the next step
  // --draft: what drafts are looked up in (prompt and reply), and this step's tokens: `last`
  // followed by the draft, verified from cache position `verified_from`.
  std::vector<int32_t> history, step;
  int64_t verified_from = 0;
};

Scheduler::Scheduler(const Model& model, const SchedulerOptions& options)
    : model_(model),
      engine_(model, options.n_slots, options.n_ctx),
      n_slots_(engine_.n_slots()),
      max_waiting_(options.max_waiting),
      prefill_chunk_(std::max(options.prefill_chunk, 2)),
      cache_prompt_(options.cache_prompt),
      draft_(options.draft) {
  slots_.resize(static_cast<size_t>(n_slots_));
  for (int i = 0; i < n_slots_; ++i) slots_[static_cast<size_t>(i)].id = i;
  thread_ = std::thread([this] { Run(); });
}

Scheduler::~Scheduler() {
  Shutdown();
}

std::shared_ptr<GenerationStream> Scheduler::Submit(GenerationSpec spec) {
  auto stream = std::make_shared<GenerationStream>(static_cast<int>(spec.prompt.size()));
  auto job = std::make_unique<Job>(model_.tokenizer(), std::move(spec), stream);
  {
    std::lock_guard lock(mu_);
    const int in = busy_ + static_cast<int>(waiting_.size());
    if (stopping_ || draining_ || in >= n_slots_ + max_waiting_) return nullptr;
    waiting_.push_back(std::move(job));
  }
  cv_.notify_all();
  return stream;
}

void Scheduler::Cancel(const std::shared_ptr<GenerationStream>& stream) {
  {
    // Under mu_ so that the scheduler cannot check the flag and go to sleep in between.
    std::lock_guard lock(mu_);
    stream->cancelled_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
}

void Scheduler::Drain() {
  std::lock_guard lock(mu_);
  draining_ = true;
}

bool Scheduler::Idle() const {
  std::lock_guard lock(mu_);
  return busy_ == 0 && waiting_.empty();
}

void Scheduler::Shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lock(mu_);
  SchedulerStats s{n_slots_, busy_, static_cast<int>(waiting_.size()), slots_, 0};
  for (const SlotStats& slot : slots_) s.kv_tokens += slot.busy ? slot.n_past : 0;
  s.stopping = stopping_;
  s.draining = draining_;
  return s;
}

void Scheduler::PublishSlots(const std::vector<std::unique_ptr<Job>>& active) {
  std::vector<SlotStats> slots(static_cast<size_t>(n_slots_));
  for (int i = 0; i < n_slots_; ++i) slots[static_cast<size_t>(i)].id = i;
  for (const auto& job : active) {
    SlotStats& s = slots[static_cast<size_t>(job->slot)];
    s.busy = true;
    s.n_past = engine_.n_past(job->slot);
    s.n_prompt = static_cast<int>(job->spec.prompt.size());
    s.n_decoded = job->reply.n_tokens();
  }
  std::lock_guard lock(mu_);
  slots_.swap(slots);
}

void Scheduler::AdmitLocked(std::vector<std::unique_ptr<Job>>* active) {
  std::erase_if(waiting_, [](const std::unique_ptr<Job>& j) { return j->stream->cancelled(); });
  while (!waiting_.empty() && busy_ < n_slots_) {
    std::unique_ptr<Job> job = std::move(waiting_.front());
    waiting_.pop_front();
    job->slot = engine_.AcquireSlot(job->spec.prompt, cache_prompt_ && job->spec.cache_prompt);
    CHECK_GE(job->slot, 0) << "busy_ out of step with the engine's slots";
    job->stream->MarkAdmitted();
    job->evaluated = static_cast<size_t>(engine_.n_past(job->slot));
    job->stream->set_cached_tokens(static_cast<int>(job->evaluated));
    ++busy_;
    active->push_back(std::move(job));
  }
}

void Scheduler::Retire(std::vector<std::unique_ptr<Job>>* active, size_t i) {
  std::unique_ptr<Job> job = std::move((*active)[i]);
  active->erase(active->begin() + static_cast<ptrdiff_t>(i));
  engine_.ReleaseSlot(job->slot);
  {
    std::lock_guard lock(mu_);
    --busy_;
    // Idle in stats() before the client hears the end, as the slot itself is.
    slots_[static_cast<size_t>(job->slot)] = SlotStats{job->slot};
  }
  // Wake the loop for waiting requests; the slot is free before the client hears the end,
  // so a client that saw its reply end never finds its slot still taken.
  cv_.notify_all();
  if (job->reply.finished()) {
    job->stream->Finish(job->reply.finish_reason(), job->reply.n_tokens());
  }
}

void Scheduler::Run() {
  std::vector<std::unique_ptr<Job>> active;
  bool trimmed = true;  // nothing was freed since the heap was last trimmed
  for (;;) {
    {
      std::unique_lock lock(mu_);
      const auto ready = [&] { return stopping_ || !active.empty() || !waiting_.empty(); };
      if (!trimmed && !cv_.wait_for(lock, kIdleBeforeTrim, ready)) {
        lock.unlock();
        ReturnFreeMemory();
        trimmed = true;
        lock.lock();
      }
      cv_.wait(lock, ready);
      if (stopping_) break;
      AdmitLocked(&active);
      trimmed = false;
    }
    for (size_t i = active.size(); i-- > 0;) {
      if (active[i]->stream->cancelled()) Retire(&active, i);
    }
    if (!active.empty()) Step(&active);
    PublishSlots(active);
  }
  // Shutting down: every request still in ends now.
  std::deque<std::unique_ptr<Job>> waiting;
  {
    std::lock_guard lock(mu_);
    waiting.swap(waiting_);
  }
  for (auto& job : waiting) job->stream->Finish(FinishReason::kShutdown, 0);
  while (!active.empty()) {
    std::unique_ptr<Job>& job = active.back();
    job->stream->Finish(FinishReason::kShutdown, job->reply.n_tokens());
    Retire(&active, active.size() - 1);
  }
  PublishSlots(active);
}

void Scheduler::Step(std::vector<std::unique_ptr<Job>>* active) {
  std::vector<BatchEngine::Work> work;
  std::vector<size_t> who;     // work[k] is for (*active)[who[k]]
  std::vector<bool> decoding;  // work[k] feeds the last sampled token
  work.reserve(active->size());
  int64_t budget = prefill_chunk_;  // prompt tokens this step may still take
  for (size_t i = 0; i < active->size(); ++i) {
    Job& job = *(*active)[i];
    if (job.prefilled()) {
      // Greedy requests only: a verified row is exact for the argmax, not for a draw.
      const bool greedy = job.spec.sampling.temperature <= 0;
      const int room = job.spec.max_tokens - job.reply.n_tokens() - 1;
      const std::vector<int32_t> draft =
          greedy ? DraftFromContext(job.history, draft_, room) : std::vector<int32_t>{};
      job.step.assign(1, job.last);
      job.step.insert(job.step.end(), draft.begin(), draft.end());
      job.verified_from = engine_.n_past(job.slot);
      work.push_back({job.slot, job.step, /*logits=*/true, /*decode_steps=*/!draft.empty()});
    } else {
      const int64_t left = static_cast<int64_t>(job.spec.prompt.size() - job.evaluated);
      const int64_t n = PrefillPiece(left, budget);
      if (n == 0) continue;  // its turn comes when the requests admitted before it are in
      budget -= n;
      work.push_back({job.slot, std::span<const int32_t>(job.spec.prompt).subspan(job.evaluated, n),
                      /*logits=*/n == left});
    }
    who.push_back(i);
    decoding.push_back(job.prefilled());
  }
  std::vector<std::vector<float>> logits;
  try {
    engine_.Step(work, &logits);
  } catch (const std::exception& e) {
    // Requests are validated against the context before they are queued, so this is a bug or
    // an allocation failure: end this batch's requests and keep serving.
    LOG(ERROR) << "forward step failed: " << e.what();
    while (!active->empty()) {
      active->back()->stream->Finish(FinishReason::kError, active->back()->reply.n_tokens());
      Retire(active, active->size() - 1);
    }
    return;
  }
  // Backwards, so that Retire's erasing leaves the indices still to visit alone.
  for (size_t k = who.size(); k-- > 0;) {
    Job& job = *(*active)[who[k]];
    if (!decoding[k]) {
      job.evaluated += work[k].tokens.size();
      if (!job.prefilled()) continue;  // more of the prompt next step
    }
    // One row, or (a verification step) one per token of the step: its first, then the draft.
    const std::span<const int32_t> draft =
        work[k].decode_steps ? work[k].tokens.subspan(1) : std::span<const int32_t>();
    const size_t j =
        VerifyDraft(logits[k], draft, [&](std::span<const float> row) -> std::optional<int32_t> {
          job.last = job.sampler.Sample(row);
          job.history.push_back(job.last);
          GeneratedToken token{job.last, std::nullopt};
          if (job.spec.n_logprobs >= 0) {
            token.logprobs = ComputeLogprobs(row, job.last, job.spec.n_logprobs);
          }
          job.stream->Append(job.reply.Add(job.last), std::move(token));
          return job.reply.finished() ? std::nullopt : std::optional<int32_t>(job.last);
        });
    // The rejected draft tokens' K and V are overwritten as decoding reaches their positions.
    if (!draft.empty()) {
      engine_.Truncate(job.slot, job.verified_from + 1 + static_cast<int64_t>(j));
      job.stream->CountDraft(static_cast<int>(draft.size()), static_cast<int>(j));
    }
    if (job.reply.finished()) Retire(active, who[k]);
  }
}

}  // namespace bitjit::server
