#include "tools/server/scheduler.h"

#include <glog/logging.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "frontend/tokenizer/tokenizer.h"
#include "runtime/generation/sequence_generator.h"
#include "tools/server/prefill_piece.h"

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

// The request's stop rules as a SequenceGenerator applies them: stop strings cut out, replies
// valid UTF-8 (JSON strings).
StopRules ServerStopRules(const GenerationSpec& spec) {
  StopRules rules;
  rules.max_tokens = spec.max_tokens;
  rules.ignore_eos = spec.ignore_eos;
  rules.stop = spec.stop;
  rules.cut_stop_strings = true;
  rules.valid_utf8 = true;
  return rules;
}

FinishReason FinishReasonOf(StopReason reason) {
  switch (reason) {
    case StopReason::kEndOfGeneration:
      return FinishReason::kStop;
    case StopReason::kStopString:
      return FinishReason::kStopString;
    case StopReason::kLength:
      return FinishReason::kLength;
    case StopReason::kNone:
    case StopReason::kCallback:  // the scheduler's sink never stops generation
      break;
  }
  return FinishReason::kError;
}

}  // namespace

struct Scheduler::Job {
  Job(const Tokenizer& tokenizer, GenerationSpec s, std::shared_ptr<GenerationStream> st,
      const DraftParams& draft)
      : spec(std::move(s)),
        stream(std::move(st)),
        generator(tokenizer, spec.prompt, spec.sampling, ServerStopRules(spec), draft) {}

  GenerationSpec spec;
  std::shared_ptr<GenerationStream> stream;
  SequenceGenerator generator;  // sampler, stop rules, decoder and drafts, as in `run`
  bool prefilled() const { return evaluated == spec.prompt.size(); }

  int slot = -1;
  size_t evaluated = 0;  // prompt tokens in the slot's cache (reused or evaluated)
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
  auto job = std::make_unique<Job>(model_.tokenizer(), std::move(spec), stream, draft_);
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
    s.n_decoded = job->generator.n_generated();
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
  if (job->generator.finished()) {
    job->stream->Finish(FinishReasonOf(job->generator.stop_reason()), job->generator.n_generated());
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
    job->stream->Finish(FinishReason::kShutdown, job->generator.n_generated());
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
      const std::span<const int32_t> step = job.generator.NextStep();
      work.push_back({job.slot, step, /*logits=*/true, job.generator.verifying()});
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
      active->back()->stream->Finish(FinishReason::kError, active->back()->generator.n_generated());
      Retire(active, active->size() - 1);
    }
    return;
  }
  // The slots as this step left them, before any client hears of its tokens: a client that
  // has seen a token never finds its slot idle or its prompt not yet in the cache.
  PublishSlots(*active);
  // Backwards, so that Retire's erasing leaves the indices still to visit alone.
  for (size_t k = who.size(); k-- > 0;) {
    Job& job = *(*active)[who[k]];
    if (!decoding[k]) {
      job.evaluated += work[k].tokens.size();
      if (!job.prefilled()) continue;  // more of the prompt next step
    }
    const int drafted = work[k].decode_steps ? static_cast<int>(work[k].tokens.size()) - 1 : 0;
    const int64_t rejected = job.generator.TakeLogits(
        logits[k], [&](int32_t id, std::span<const float> row, std::string_view text) {
          GeneratedToken token{id, std::nullopt};
          if (job.spec.n_logprobs >= 0)
            token.logprobs = ComputeLogprobs(row, id, job.spec.n_logprobs);
          job.stream->Append(text, std::move(token));
          return true;
        });
    if (drafted > 0) {
      engine_.Truncate(job.slot, engine_.n_past(job.slot) - rejected);
      job.stream->CountDraft(drafted, drafted - static_cast<int>(rejected));
    }
    if (job.generator.finished()) Retire(active, who[k]);
  }
}

}  // namespace bitjit::server
