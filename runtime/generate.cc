#include "runtime/generate.h"

#include <algorithm>
#include <chrono>

#include "ir/base/error.h"

namespace bitjit {
namespace {
double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}
}  // namespace

GenerateResult Generate(Session& session, std::span<const int32_t> prompt,
                        const GenerateParams& params, const TokenCallback& on_token) {
  if (prompt.empty()) Fail("the prompt is empty");
  if (params.n_predict < 0) Fail("-n must not be negative");
  if (params.draft.enabled() && params.sampler.temperature > 0) {
    Fail("--draft verifies greedy decoding only: give --temp 0, or drop --draft to sample");
  }
  const int64_t need = session.n_past() + static_cast<int64_t>(prompt.size()) + params.n_predict;
  if (need > session.n_ctx()) {
    Fail("prompt (", prompt.size(), " tokens) + ", session.n_past(), " cached + -n ",
         params.n_predict, " = ", need, " tokens does not fit the context of ", session.n_ctx(),
         " (raise -c, up to the model's ", session.model().config().n_ctx_train, ", or lower -n)");
  }
  GenerateResult result;
  result.n_prompt = static_cast<int>(prompt.size());
  result.stop_reason = "length";
  Sampler sampler(params.sampler);
  sampler.Remember(prompt);
  const Tokenizer& tok = session.model().tokenizer();
  const int64_t vocab = session.model().config().n_vocab;

  // rows: the logits to choose the next token from, then one more row per drafted token.
  std::vector<float> rows;
  auto start = std::chrono::steady_clock::now();
  if (params.n_batch < 0) Fail("the prompt batch size must not be negative");
  const size_t batch = params.n_batch > 0 ? static_cast<size_t>(params.n_batch) : prompt.size();
  for (size_t at = 0; at < prompt.size(); at += batch) {
    session.Eval(prompt.subspan(at, std::min(batch, prompt.size() - at)), /*all_rows=*/false,
                 &rows);
  }
  result.prompt_seconds = Seconds(start);
  start = std::chrono::steady_clock::now();
  // What drafts are looked up in: this call's prompt and what it generated.
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  std::vector<int32_t> draft;  // the tokens after the first one of the last step
  int64_t verified_from = 0;   // the cache position of that step's first token
  while (static_cast<int>(result.ids.size()) < params.n_predict) {
    bool stop = false;
    const size_t j =
        VerifyDraft(std::span<const float>(rows).first((draft.size() + 1) * vocab), draft,
                    [&](std::span<const float> row) -> std::optional<int32_t> {
                      const int32_t id = sampler.Sample(row);
                      result.ids.push_back(id);
                      history.push_back(id);
                      if (on_token && !on_token(id, row)) {
                        result.stop_reason = "callback";
                        stop = true;
                      } else if (!params.ignore_eos && tok.IsEndOfGeneration(id)) {
                        result.stop_reason = "eos";
                        stop = true;
                      }
                      stop = stop || static_cast<int>(result.ids.size()) == params.n_predict;
                      return stop ? std::nullopt : std::optional<int32_t>(id);
                    });
    if (!draft.empty()) {
      result.n_drafted += static_cast<int>(draft.size());
      result.n_accepted += static_cast<int>(j);
      // The rejected draft tokens' K and V are overwritten as decoding reaches their positions.
      session.Truncate(verified_from + 1 + static_cast<int64_t>(j));
    }
    if (stop) break;
    const int32_t next = history.back();
    const int room = params.n_predict - static_cast<int>(result.ids.size()) - 1;
    draft = DraftFromContext(history, params.draft, room);
    verified_from = session.n_past();
    if (draft.empty()) {
      session.Eval(std::span(&next, 1), false, &rows);
    } else {
      std::vector<int32_t> step = {next};
      step.insert(step.end(), draft.begin(), draft.end());
      session.EvalAsDecodeSteps(step, &rows);
    }
  }
  result.decode_seconds = Seconds(start);
  return result;
}

}  // namespace bitjit
