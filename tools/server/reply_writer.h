// How one completion reply is written, whole or streamed, for the API it came in by: OpenAI's
// (chat.completion / text_completion objects, chunks ending in [DONE]; openai_reply.cc) or
// llama-server's POST /completion ({"content", "stop", ...} events; llama_reply.cc). The
// request handling around it (queueing, waiting, client probing, cancelling, logging, metrics)
// is the same for all (completion_handler.cc). A writer belongs to one request and may keep
// state between events (tokens whose text is still held back).
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "tools/server/api_error.h"
#include "tools/server/completion_request.h"
#include "tools/server/generation_stream.h"

namespace bitjit {
class Tokenizer;
}

namespace bitjit::server {

// How a reply ended normally.
struct ReplyTotals {
  FinishReason finish = FinishReason::kStop;
  int prompt_tokens = 0;
  int completion_tokens = 0;
  GenerationStream::Timings timings;
};

class ReplyWriter {
 public:
  virtual ~ReplyWriter() = default;
  // What a stream starts with before any text (OpenAI chat: the role chunk); may be empty.
  virtual std::string StreamOpening() { return {}; }
  // The events for text and tokens that came since the last call; with `totals`, the reply is
  // over and the closing events follow.
  virtual std::string StreamEvents(const std::string& text,
                                   const std::vector<GeneratedToken>& tokens,
                                   const ReplyTotals* totals) = 0;
  // The events that end a stream that failed.
  virtual std::string StreamFailure(const ApiError& error) = 0;
  // The whole reply (stream = false).
  virtual nlohmann::json Whole(const std::string& text, const std::vector<GeneratedToken>& tokens,
                               const ReplyTotals& totals) = 0;
};

// `model_id`: the name replies carry.
std::unique_ptr<ReplyWriter> MakeOpenAiWriter(const CompletionRequest& request,
                                              const Tokenizer& tokenizer, std::string model_id);
std::unique_ptr<ReplyWriter> MakeLlamaWriter(const CompletionRequest& request,
                                             const Tokenizer& tokenizer, std::string model_id);

// A token's text as JSON wants it (invalid UTF-8 replaced) and its bytes.
std::string TokenPiece(const Tokenizer& tokenizer, int32_t id);
nlohmann::json TokenBytesJson(const Tokenizer& tokenizer, int32_t id);

}  // namespace bitjit::server
