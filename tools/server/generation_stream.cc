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
  return true;
}

void GenerationStream::Append(std::string_view text) {
  if (text.empty()) return;
  {
    std::lock_guard lock(mu_);
    text_.append(text);
  }
  cv_.notify_all();
}

void GenerationStream::Finish(FinishReason reason, int completion_tokens) {
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    finish_reason_ = reason;
    completion_tokens_ = completion_tokens;
  }
  cv_.notify_all();
}

}  // namespace bitjit::server
