// llama-server's POST /completion replies (ReplyWriter): {"content", "tokens", "stop", ...},
// streamed as `data: {...}` events with "stop": false, the last one "stop": true with the
// statistics (no [DONE]); n_probs > 0 adds "completion_probabilities".
#include <algorithm>
#include <utility>

#include "frontend/tokenizer/tokenizer.h"
#include "tools/server/llama_settings.h"
#include "tools/server/openai_format.h"
#include "tools/server/reply_writer.h"

namespace bitjit::server {
namespace {

using nlohmann::json;

const char* StopType(FinishReason r) {
  switch (r) {
    case FinishReason::kStop:
      return "eos";
    case FinishReason::kStopString:
      return "word";
    case FinishReason::kLength:
      return "limit";
    default:
      return "none";
  }
}

json Timings(const ReplyTotals& t) {
  const double prompt_ms = t.timings.prompt_ms, predicted_ms = t.timings.predicted_ms;
  const auto per_token = [](double ms, int n) { return n > 0 ? ms / n : 0.0; };
  const auto per_second = [](double ms, int n) { return ms > 0 ? 1e3 * n / ms : 0.0; };
  json out = {{"prompt_n", t.prompt_tokens},
              {"prompt_ms", prompt_ms},
              {"prompt_per_token_ms", per_token(prompt_ms, t.prompt_tokens)},
              {"prompt_per_second", per_second(prompt_ms, t.prompt_tokens)},
              {"predicted_n", t.completion_tokens},
              {"predicted_ms", predicted_ms},
              {"predicted_per_token_ms", per_token(predicted_ms, t.completion_tokens)},
              {"predicted_per_second", per_second(predicted_ms, t.completion_tokens)}};
  // As llama-server reports speculative decoding: only where tokens were drafted.
  if (t.timings.draft_n > 0) {
    out["draft_n"] = t.timings.draft_n;
    out["draft_n_accepted"] = t.timings.draft_n_accepted;
  }
  return out;
}

class LlamaWriter : public ReplyWriter {
 public:
  LlamaWriter(const CompletionRequest& r, const Tokenizer& tokenizer, std::string model_id)
      : request_(r), tokenizer_(tokenizer), model_id_(std::move(model_id)) {}

  std::string StreamEvents(const std::string& text, const std::vector<GeneratedToken>& tokens,
                           const ReplyTotals* totals) override {
    pending_.insert(pending_.end(), tokens.begin(), tokens.end());
    all_.insert(all_.end(), tokens.begin(), tokens.end());
    content_ += text;
    std::string out;
    if (!text.empty()) {
      json event = {{"content", text}, {"stop", false}, {"index", 0}, {"tokens", Ids(pending_)}};
      if (request_.n_logprobs >= 0) event["completion_probabilities"] = Probabilities(pending_);
      pending_.clear();
      out += SseEvent(event);
    }
    if (totals) {
      // The last event carries the statistics; its content is empty (the text came already).
      json last = Final("", pending_, *totals);
      out += SseEvent(last);
    }
    return out;
  }

  std::string StreamFailure(const ApiError& error) override { return SseEvent(error.ToJson()); }

  json Whole(const std::string& text, const std::vector<GeneratedToken>& tokens,
             const ReplyTotals& totals) override {
    content_ = text;
    all_ = tokens;
    return Final(text, tokens, totals);
  }

 private:
  static json Ids(const std::vector<GeneratedToken>& tokens) {
    json ids = json::array();
    for (const GeneratedToken& t : tokens) ids.push_back(t.id);
    return ids;
  }

  json Entry(int32_t id, float logprob) const {
    return {{"id", id},
            {"token", TokenPiece(tokenizer_, id)},
            {"bytes", TokenBytesJson(tokenizer_, id)},
            {"logprob", logprob}};
  }

  json Probabilities(const std::vector<GeneratedToken>& tokens) const {
    json out = json::array();
    for (const GeneratedToken& t : tokens) {
      if (!t.logprobs) continue;
      json e = Entry(t.id, t.logprobs->logprob);
      e["top_logprobs"] = json::array();
      for (const auto& [id, lp] : t.logprobs->top) e["top_logprobs"].push_back(Entry(id, lp));
      out.push_back(std::move(e));
    }
    return out;
  }

  json Final(const std::string& content, const std::vector<GeneratedToken>& tokens,
             const ReplyTotals& t) const {
    json r = {{"index", 0},
              {"content", content},
              {"tokens", Ids(tokens)},
              {"stop", true},
              {"model", model_id_},
              {"tokens_predicted", t.completion_tokens},
              {"tokens_evaluated", t.prompt_tokens},
              {"generation_settings", LlamaGenerationSettings(request_, model_id_)},
              {"prompt", request_.prompt},
              {"has_new_line", content_.find('\n') != std::string::npos},
              {"truncated", false},
              {"stop_type", StopType(t.finish)},
              {"stopping_word", ""},
              {"tokens_cached", t.prompt_tokens + std::max(t.completion_tokens - 1, 0)},
              {"timings", Timings(t)}};
    // Which stop string ended the text is known for certain only when there is one.
    if (t.finish == FinishReason::kStopString && request_.stop.size() == 1) {
      r["stopping_word"] = request_.stop[0];
    }
    if (request_.n_logprobs >= 0) r["completion_probabilities"] = Probabilities(all_);
    return r;
  }

  CompletionRequest request_;
  const Tokenizer& tokenizer_;
  std::string model_id_;
  std::vector<GeneratedToken> pending_, all_;
  std::string content_;
};

}  // namespace

std::unique_ptr<ReplyWriter> MakeLlamaWriter(const CompletionRequest& request,
                                             const Tokenizer& tokenizer, std::string model_id) {
  return std::make_unique<LlamaWriter>(request, tokenizer, std::move(model_id));
}

}  // namespace bitjit::server
