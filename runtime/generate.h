// Generating with one sequence: `bitjit run`, `run --chat`, llama-cli and programs using the C++
// API. The sequence is the one slot of a BatchEngine, the engine the server batches many
// sequences on, and its tokens are chosen and stopped by the SequenceGenerator the server's
// requests use: a setting means the same here and over HTTP.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "runtime/batch_engine.h"
#include "runtime/generation/sequence_generator.h"
#include "runtime/model.h"
#include "runtime/ngram_draft.h"
#include "runtime/sampler.h"

namespace bitjit {

struct GenerateParams {
  int n_predict = 64;       // tokens to generate (at most)
  bool ignore_eos = false;  // keep going past EOS/EOT
  // false: a prompt + n_predict that does not fit the context is refused. true (llama-cli's
  // -n -1, a chat's turns): generation ends when the context is full.
  bool stop_at_context_end = false;
  // llama-cli's -r: the reply also ends once one of them appears in its text (printed).
  std::vector<std::string> reverse_prompts;
  // Prompt tokens per evaluation (llama.cpp's -b/-ub); 0 = the whole prompt in one batch.
  // bitnet.cpp's scripts pass -b 1, which evaluates the prompt token by token.
  int n_batch = 0;
  SamplerParams sampler;
  // Exact speculative decoding (greedy only): tokens drafted from the context are verified in
  // one forward pass, each row with a decode step's roundings, and the matching prefix kept.
  // The tokens and logits are bit-identical to plain greedy decoding.
  DraftParams draft;
};

struct GenerateResult {
  std::vector<int32_t> ids;  // generated ids (an EOS/EOT that stopped generation included)
  std::string stop_reason;   // "eos", "stop" (a reverse prompt), "length", "callback"
  int n_prompt = 0;
  double prompt_seconds = 0;  // prompt batch
  double decode_seconds = 0;  // all decode steps
  int n_drafted = 0;          // draft tokens verified (--draft)
  int n_accepted = 0;         // of them, those greedy decoding chose too
};

// Called with each generated id, the logits it was chosen from and the text it releases (never
// half a UTF-8 character; all of it, joined, is the reply's text); return false to stop. What
// the decoder still holds when a callback stops generation is dropped.
using TokenCallback = TokenSink;

// One conversation: its KV cache stays from one Generate to the next (chat turns).
class GenerationSession {
 public:
  // n_ctx <= 0 takes the model's default. Throws bitjit::Error when the cache cannot be had.
  GenerationSession(const Model& model, int64_t n_ctx);

  const Model& model() const { return engine_.model(); }
  int64_t n_ctx() const { return engine_.n_ctx(); }
  int64_t n_past() const { return engine_.n_past(slot_); }
  // Forgets the conversation.
  void Reset() { engine_.Truncate(slot_, 0); }

  // Appends `prompt` to the conversation and generates after it. Refuses (bitjit::Error) when
  // the prompt plus n_predict tokens does not fit the context (unless stop_at_context_end), or
  // when drafting is asked for with sampling (temperature > 0).
  GenerateResult Generate(std::span<const int32_t> prompt, const GenerateParams& params,
                          const TokenCallback& on_token);

 private:
  BatchEngine engine_;
  int slot_;
};

}  // namespace bitjit
