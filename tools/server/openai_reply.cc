// OpenAI's replies (ReplyWriter): openai_format.h's objects, with logprobs in the chat shape
// ({"content": [{token, logprob, bytes, top_logprobs}]}) or the legacy completions shape
// ({tokens, token_logprobs, top_logprobs, text_offset}).
#include <utility>

#include "frontend/tokenizer/tokenizer.h"
#include "runtime/generation/valid_utf8.h"
#include "tools/server/openai_format.h"
#include "tools/server/reply_writer.h"

namespace bitjit::server {

using nlohmann::json;

std::string TokenPiece(const Tokenizer& tokenizer, int32_t id) {
  const int32_t ids[] = {id};
  return ValidUtf8(tokenizer.Decode(ids));
}

json TokenBytesJson(const Tokenizer& tokenizer, int32_t id) {
  const int32_t ids[] = {id};
  json bytes = json::array();
  for (unsigned char c : tokenizer.Decode(ids)) bytes.push_back(int(c));
  return bytes;
}

namespace {

class OpenAiWriter : public ReplyWriter {
 public:
  OpenAiWriter(const CompletionRequest& r, const Tokenizer& tokenizer, std::string model_id)
      : tokenizer_(tokenizer),
        header_(NewReplyHeader(r.endpoint, std::move(model_id), r.include_usage)),
        logprobs_(r.n_logprobs >= 0) {}

  std::string StreamOpening() override {
    // Chat streams open with the role, as OpenAI's do, before any text is ready.
    return header_.endpoint == Endpoint::kChat ? SseEvent(RoleChunk(header_)) : std::string();
  }

  std::string StreamEvents(const std::string& text, const std::vector<GeneratedToken>& tokens,
                           const ReplyTotals* totals) override {
    pending_.insert(pending_.end(), tokens.begin(), tokens.end());
    std::string out;
    if (!text.empty()) out += SseEvent(WithLogprobs(TextChunk(header_, text)));
    if (totals) {
      // Tokens whose text never came (end of text, a stop string) ride on the last chunk.
      out += SseEvent(WithLogprobs(TextChunk(header_, "", totals->finish)));
      if (header_.include_usage) {
        out += SseEvent(UsageChunk(header_, totals->prompt_tokens, totals->completion_tokens));
      }
      out += kSseDone;
    }
    return out;
  }

  std::string StreamFailure(const ApiError& error) override {
    return SseEvent(error.ToJson()) + kSseDone;
  }

  json Whole(const std::string& text, const std::vector<GeneratedToken>& tokens,
             const ReplyTotals& totals) override {
    pending_ = tokens;
    return WithLogprobs(CompletionObject(header_, text, totals.finish, totals.prompt_tokens,
                                         totals.completion_tokens));
  }

 private:
  // Sets choices[0].logprobs from the pending tokens (and clears them) when they were asked for.
  json WithLogprobs(json object) {
    if (!logprobs_) return object;
    json& slot = object["choices"][0]["logprobs"];
    slot = header_.endpoint == Endpoint::kChat ? ChatLogprobs() : LegacyLogprobs();
    pending_.clear();
    return object;
  }

  json Entry(int32_t id, float logprob) const {
    return {{"token", TokenPiece(tokenizer_, id)},
            {"logprob", logprob},
            {"bytes", TokenBytesJson(tokenizer_, id)}};
  }

  json ChatLogprobs() const {
    json content = json::array();
    for (const GeneratedToken& t : pending_) {
      if (!t.logprobs) continue;
      json e = Entry(t.id, t.logprobs->logprob);
      e["top_logprobs"] = json::array();
      for (const auto& [id, lp] : t.logprobs->top) e["top_logprobs"].push_back(Entry(id, lp));
      content.push_back(std::move(e));
    }
    return {{"content", std::move(content)}, {"refusal", nullptr}};
  }

  // Offsets count bytes of the completion text from its start.
  json LegacyLogprobs() {
    json out = {{"tokens", json::array()},
                {"token_logprobs", json::array()},
                {"top_logprobs", json::array()},
                {"text_offset", json::array()}};
    for (const GeneratedToken& t : pending_) {
      if (!t.logprobs) continue;
      const std::string piece = TokenPiece(tokenizer_, t.id);
      out["tokens"].push_back(piece);
      out["token_logprobs"].push_back(t.logprobs->logprob);
      json top = json::object();
      for (const auto& [id, lp] : t.logprobs->top) top[TokenPiece(tokenizer_, id)] = lp;
      out["top_logprobs"].push_back(std::move(top));
      out["text_offset"].push_back(text_offset_);
      // The token's own bytes: a character split between tokens is whole in the text.
      const int32_t ids[] = {t.id};
      text_offset_ += tokenizer_.Decode(ids).size();
    }
    return out;
  }

  const Tokenizer& tokenizer_;
  ReplyHeader header_;
  bool logprobs_;
  std::vector<GeneratedToken> pending_;
  size_t text_offset_ = 0;
};

}  // namespace

std::unique_ptr<ReplyWriter> MakeOpenAiWriter(const CompletionRequest& request,
                                              const Tokenizer& tokenizer, std::string model_id) {
  return std::make_unique<OpenAiWriter>(request, tokenizer, std::move(model_id));
}

}  // namespace bitjit::server
