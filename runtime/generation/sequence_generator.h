// One sequence's generation, whatever runs its forward passes: `bitjit run`, `run --chat` and
// llama-cli (one sequence on a one-slot BatchEngine, runtime/generate.h) and the server (many on
// one BatchEngine, tools/server/scheduler.h) all choose and stop tokens here, so a setting means
// the same everywhere. It holds the sampler (whose repetition window starts with the prompt),
// the stop rules (end-of-generation token, stop strings, the token limit, the end of the
// context), the streaming decoder that never splits a UTF-8 character, and the drafts of exact
// speculative decoding.
//
// The driver feeds the prompt, hands the logits of its last token to TakeLogits, then loops:
// run NextStep()'s tokens, hand their logits to TakeLogits, drop the rejected draft tokens from
// the cache, until finished().
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/tokenizer/streaming_decoder.h"
#include "runtime/generation/stop_strings.h"
#include "runtime/ngram_draft.h"
#include "runtime/sampler.h"

namespace bitjit {

class Tokenizer;

struct StopRules {
  int max_tokens = 64;      // tokens to generate at most (-n, max_tokens)
  bool ignore_eos = false;  // keep going past EOS/EOT
  std::vector<std::string> stop;
  // true (the HTTP API's `stop`): no byte from a stop string on is released. false (llama-cli's
  // -r): text is released as it comes and the reply ends after the stop string.
  bool cut_stop_strings = true;
  // Bytes that are not UTF-8 are released as U+FFFD (JSON strings must be valid UTF-8); else
  // as they are (bitnet.cpp prints token bytes raw).
  bool valid_utf8 = false;
};

enum class StopReason {
  kNone,             // not finished
  kEndOfGeneration,  // an EOS/EOT token (it is the last id; it releases no text)
  kStopString,
  kLength,    // max_tokens, or the context is full
  kCallback,  // the TokenSink said stop
};
// "eos", "stop", "length", "callback" (`run --json`'s stop_reason).
const char* StopReasonName(StopReason reason);

// repeat_last_n as llama.cpp reads it: -1 (any negative) is the whole context.
inline int RepeatWindow(int repeat_last_n, int64_t n_ctx) {
  return repeat_last_n < 0 ? static_cast<int>(std::min<int64_t>(n_ctx, INT32_MAX)) : repeat_last_n;
}

// Called with each chosen id, the logits row it was chosen from (before any penalty) and the
// text it releases; false stops generation there.
using TokenSink =
    std::function<bool(int32_t id, std::span<const float> row, std::string_view text)>;

class SequenceGenerator {
 public:
  // `tokenizer` must outlive this. `context_room`: the tokens the context still has after the
  // prompt; generation ends when they are used (the last chosen token is never fed, but
  // "prompt + generated <= context" is the rule every caller states).
  SequenceGenerator(const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                    const SamplerParams& sampling, const StopRules& rules,
                    const DraftParams& draft = {},
                    int64_t context_room = std::numeric_limits<int64_t>::max());

  // The tokens of this sequence's next forward step: the last chosen token, then (greedy
  // decoding with drafting only: a verified row is exact for the argmax, not for a draw) up to
  // draft.max_tokens tokens drafted from the context. Valid until the next call. Only while
  // !finished(), after the first TakeLogits.
  std::span<const int32_t> NextStep();
  // Whether NextStep()'s tokens are a verification step: each computed as its own one-token
  // step would be, with every token's logits wanted.
  bool verifying() const { return step_.size() > 1; }

  // Takes the logits of the step just run: after the prompt, the last token's row; after
  // NextStep(), one row per token of it (one unless verifying()). Chooses a token from each row
  // in turn, giving each to `sink`, until one differs from the draft, the reply ends, or the
  // rows run out. Returns how many of the step's last tokens the cache must forget (rejected
  // draft tokens; 0 without drafts).
  int64_t TakeLogits(std::span<const float> rows, const TokenSink& sink);

  bool finished() const { return reason_ != StopReason::kNone; }
  StopReason stop_reason() const { return reason_; }
  const std::vector<int32_t>& ids() const { return ids_; }  // chosen so far
  int n_generated() const { return static_cast<int>(ids_.size()); }
  int n_drafted() const { return n_drafted_; }    // draft tokens verified so far
  int n_accepted() const { return n_accepted_; }  // of them, those the rows chose too

 private:
  // Chooses the token of one row and applies the stop rules; false when the reply is over.
  bool Choose(std::span<const float> row, const TokenSink& sink);
  // The text `id` releases under the stop rules; sets reason_ when they end the reply.
  std::string Release(int32_t id);
  // Decoded bytes through the UTF-8 check and the stop strings; sets kStopString on one.
  std::string Pass(std::string bytes);
  // At the end of the reply: what the decoder and the stop-string filter still hold.
  std::string Tail();

  const Tokenizer& tokenizer_;
  const StopRules rules_;
  const DraftParams draft_;
  const bool greedy_;     // drafts are verified for greedy decoding only
  const int max_tokens_;  // rules_.max_tokens within the context's room
  Sampler sampler_;
  StreamingDecoder decoder_;
  StopStringFilter cut_stops_;  // cut_stop_strings
  std::string released_;        // !cut_stop_strings: the text so far, to look for stops in
  std::vector<int32_t> ids_;
  // What drafts are looked up in: the prompt and the chosen ids.
  std::vector<int32_t> history_;
  std::vector<int32_t> step_;  // NextStep()'s tokens
  StopReason reason_ = StopReason::kNone;
  int n_drafted_ = 0, n_accepted_ = 0;
};

}  // namespace bitjit
