#include "runtime/generation/sequence_generator.h"

#include <algorithm>
#include <optional>

#include "frontend/tokenizer/tokenizer.h"
#include "runtime/generation/valid_utf8.h"

namespace bitjit {

const char* StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kNone:
      return "none";
    case StopReason::kEndOfGeneration:
      return "eos";
    case StopReason::kStopString:
      return "stop";
    case StopReason::kLength:
      return "length";
    case StopReason::kCallback:
      return "callback";
  }
  return "none";
}

SequenceGenerator::SequenceGenerator(const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                                     const SamplerParams& sampling, const StopRules& rules,
                                     const DraftParams& draft, int64_t context_room)
    : tokenizer_(tokenizer),
      rules_(rules),
      draft_(draft),
      greedy_(sampling.temperature <= 0),
      max_tokens_(static_cast<int>(
          std::clamp<int64_t>(std::min<int64_t>(rules.max_tokens, context_room), 0, INT32_MAX))),
      sampler_(sampling),
      decoder_(tokenizer),
      cut_stops_(rules.cut_stop_strings ? rules.stop : std::vector<std::string>{}),
      history_(prompt.begin(), prompt.end()) {
  sampler_.Remember(prompt);  // the repetition window starts with the prompt
  if (max_tokens_ == 0) reason_ = StopReason::kLength;
}

std::span<const int32_t> SequenceGenerator::NextStep() {
  step_.assign(1, ids_.back());
  if (greedy_) {
    const int room = max_tokens_ - n_generated() - 1;
    const std::vector<int32_t> draft = DraftFromContext(history_, draft_, room);
    step_.insert(step_.end(), draft.begin(), draft.end());
  }
  return step_;
}

int64_t SequenceGenerator::TakeLogits(std::span<const float> rows, const TokenSink& sink) {
  if (finished()) return 0;
  const std::span<const int32_t> draft =
      verifying() ? std::span<const int32_t>(step_).subspan(1) : std::span<const int32_t>();
  const size_t accepted =
      VerifyDraft(rows, draft, [&](std::span<const float> row) -> std::optional<int32_t> {
        if (!Choose(row, sink)) return std::nullopt;
        return ids_.back();
      });
  n_drafted_ += static_cast<int>(draft.size());
  n_accepted_ += static_cast<int>(accepted);
  // The rejected draft tokens' K and V are overwritten as decoding reaches their positions.
  return static_cast<int64_t>(draft.size() - accepted);
}

bool SequenceGenerator::Choose(std::span<const float> row, const TokenSink& sink) {
  const int32_t id = sampler_.Sample(row);
  ids_.push_back(id);
  history_.push_back(id);
  const std::string text = Release(id);
  if (sink && !sink(id, row, text) && !finished()) reason_ = StopReason::kCallback;
  return !finished();
}

std::string SequenceGenerator::Release(int32_t id) {
  if (!rules_.ignore_eos && tokenizer_.IsEndOfGeneration(id)) {
    reason_ = StopReason::kEndOfGeneration;
    return Tail();
  }
  std::string out = Pass(decoder_.Push(id));
  // Cut at a stop string: what the decoder still holds comes after it.
  if (reason_ == StopReason::kStopString && rules_.cut_stop_strings) return out;
  if (!finished() && n_generated() >= max_tokens_) reason_ = StopReason::kLength;
  if (finished()) out += Tail();
  return out;
}

std::string SequenceGenerator::Pass(std::string bytes) {
  if (rules_.valid_utf8) bytes = ValidUtf8(bytes);
  if (rules_.cut_stop_strings) {
    std::string out = cut_stops_.Push(bytes);
    if (cut_stops_.stopped()) reason_ = StopReason::kStopString;
    return out;
  }
  released_ += bytes;
  if (StopArrived(released_, bytes.size(), rules_.stop)) reason_ = StopReason::kStopString;
  return bytes;
}

std::string SequenceGenerator::Tail() {
  // A character left unfinished at the end is released (replaced with valid_utf8); it may
  // still complete a stop string.
  std::string out = Pass(decoder_.Flush());
  if (!cut_stops_.stopped()) out += cut_stops_.Flush();
  return out;
}

}  // namespace bitjit
