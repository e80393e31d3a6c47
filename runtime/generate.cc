#include "runtime/generate.h"

#include <algorithm>
#include <chrono>

#include "ir/base/error.h"

namespace bitjit {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int64_t CheckedContext(int64_t n_ctx) {
  if (n_ctx > (int64_t{1} << 22)) Fail("context size ", n_ctx, " is too large");
  return n_ctx;
}

}  // namespace

GenerationSession::GenerationSession(const Model& model, int64_t n_ctx)
    : engine_(model, /*n_slots=*/1, CheckedContext(n_ctx)), slot_(engine_.AcquireSlot()) {}

GenerateResult GenerationSession::Generate(std::span<const int32_t> prompt,
                                           const GenerateParams& params,
                                           const TokenCallback& on_token) {
  if (prompt.empty()) Fail("the prompt is empty");
  if (params.n_predict < 0) Fail("-n must not be negative");
  if (params.n_batch < 0) Fail("the prompt batch size must not be negative");
  if (params.draft.enabled() && params.sampler.temperature > 0) {
    Fail("--draft verifies greedy decoding only: give --temp 0, or drop --draft to sample");
  }
  const int64_t room = n_ctx() - n_past() - static_cast<int64_t>(prompt.size());
  // Ending at the context's end still wants room for one token.
  const int must_fit =
      params.stop_at_context_end ? std::min(params.n_predict, 1) : params.n_predict;
  if (room < 0 || must_fit > room) {
    Fail("prompt (", prompt.size(), " tokens) + ", n_past(), " cached + -n ", params.n_predict,
         " = ", n_past() + static_cast<int64_t>(prompt.size()) + params.n_predict,
         " tokens does not fit the context of ", n_ctx(), " (raise -c, up to the model's ",
         model().config().n_ctx_train, ", or lower -n)");
  }
  StopRules rules;
  rules.max_tokens = params.n_predict;
  rules.ignore_eos = params.ignore_eos;
  rules.stop = params.reverse_prompts;
  rules.cut_stop_strings = false;
  SamplerParams sampling = params.sampler;
  sampling.repeat_last_n = RepeatWindow(sampling.repeat_last_n, n_ctx());
  SequenceGenerator generator(model().tokenizer(), prompt, sampling, rules, params.draft, room);
  GenerateResult result;
  result.n_prompt = static_cast<int>(prompt.size());

  std::vector<std::vector<float>> logits;
  auto start = std::chrono::steady_clock::now();
  const size_t batch = params.n_batch > 0 ? static_cast<size_t>(params.n_batch) : prompt.size();
  for (size_t at = 0; at < prompt.size(); at += batch) {
    const size_t n = std::min(batch, prompt.size() - at);
    const BatchEngine::Work work{slot_, prompt.subspan(at, n), /*logits=*/at + n == prompt.size()};
    engine_.Step(std::span(&work, 1), &logits);
  }
  result.prompt_seconds = Seconds(start);
  start = std::chrono::steady_clock::now();
  generator.TakeLogits(logits[0], on_token);
  while (!generator.finished()) {
    const std::span<const int32_t> step = generator.NextStep();
    const BatchEngine::Work work{slot_, step, /*logits=*/true, generator.verifying()};
    engine_.Step(std::span(&work, 1), &logits);
    if (const int64_t rejected = generator.TakeLogits(logits[0], on_token)) {
      engine_.Truncate(slot_, n_past() - rejected);
    }
  }
  result.decode_seconds = Seconds(start);
  result.ids = generator.ids();
  result.stop_reason = StopReasonName(generator.stop_reason());
  result.n_drafted = generator.n_drafted();
  result.n_accepted = generator.n_accepted();
  return result;
}

}  // namespace bitjit
