#include "tools/server/generation_stream.h"

namespace bitjit::server {

bool GenerationStream::Wait(std::chrono::milliseconds timeout, Update* update) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return !text_.empty() || finished_; })) return false;
  update->text.clear();
  update->text.swap(text_);
  update->finished = finished_;
  update->finish_reason = finish_reason_;
  update->completion_tokens = completion_tokens_;
  update->tokens.clear();
  update->tokens.swap(tokens_);
  return true;
}

GenerationStream::Timings GenerationStream::timings() {
  std::lock_guard lock(mu_);
  using Ms = std::chrono::duration<double, std::milli>;
  const Clock::time_point first = has_token_ ? first_token_ : ended_;
  return {Ms(admitted_ - submitted_).count(), Ms(first - admitted_).count(),
          Ms(ended_ - first).count(), draft_n_, draft_n_accepted_};
}

void GenerationStream::CountDraft(int drafted, int accepted) {
  std::lock_guard lock(mu_);
  draft_n_ += drafted;
  draft_n_accepted_ += accepted;
}

void GenerationStream::MarkAdmitted() {
  std::lock_guard lock(mu_);
  admitted_ = Clock::now();
}

void GenerationStream::Append(std::string_view text, GeneratedToken token) {
  {
    std::lock_guard lock(mu_);
    if (!has_token_) {
      has_token_ = true;
      first_token_ = Clock::now();
    }
    text_.append(text);
    tokens_.push_back(std::move(token));
  }
  // Waiters wake for text (or the end); a token whose text is held back rides with the next.
  if (!text.empty()) cv_.notify_all();
}

void GenerationStream::Finish(FinishReason reason, int completion_tokens) {
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    ended_ = Clock::now();
    finish_reason_ = reason;
    completion_tokens_ = completion_tokens;
  }
  cv_.notify_all();
}

}  // namespace bitjit::server
