// The generation loop: prompt batch, then one decode step per token, sampling each next token
// from the last row of logits.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "runtime/model.h"
#include "runtime/ngram_draft.h"
#include "runtime/sampler.h"

namespace bitjit {

struct GenerateParams {
  int n_predict = 64;       // tokens to generate (at most)
  bool ignore_eos = false;  // keep going past EOS/EOT
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
  std::string stop_reason;   // "eos", "length", "callback"
  int n_prompt = 0;
  double prompt_seconds = 0;  // prompt batch
  double decode_seconds = 0;  // all decode steps
  int n_drafted = 0;          // draft tokens verified (--draft)
  int n_accepted = 0;         // of them, those greedy decoding chose too
};

// Called with each generated id and the logits it was sampled from; return false to stop.
using TokenCallback = std::function<bool(int32_t id, std::span<const float> logits)>;

// Appends `prompt` to the session and generates after it. Refuses (bitjit::Error) when the
// prompt plus n_predict tokens does not fit the session's context, or when drafting is asked
// for with sampling (temperature > 0).
GenerateResult Generate(Session& session, std::span<const int32_t> prompt,
                        const GenerateParams& params, const TokenCallback& on_token);

}  // namespace bitjit
