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

  std::vector<float> logits;
  auto start = std::chrono::steady_clock::now();
  if (params.n_batch < 0) Fail("the prompt batch size must not be negative");
  const size_t batch = params.n_batch > 0 ? static_cast<size_t>(params.n_batch) : prompt.size();
  for (size_t at = 0; at < prompt.size(); at += batch) {
    session.Eval(prompt.subspan(at, std::min(batch, prompt.size() - at)), /*all_rows=*/false,
                 &logits);
  }
  result.prompt_seconds = Seconds(start);
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < params.n_predict; ++i) {
    const int32_t id = sampler.Sample(logits);
    result.ids.push_back(id);
    if (on_token && !on_token(id, logits)) {
      result.stop_reason = "callback";
      break;
    }
    if (!params.ignore_eos && tok.IsEndOfGeneration(id)) {
      result.stop_reason = "eos";
      break;
    }
    if (i + 1 < params.n_predict) session.Eval(std::span(&id, 1), false, &logits);
  }
  result.decode_seconds = Seconds(start);
  return result;
}

}  // namespace bitjit
