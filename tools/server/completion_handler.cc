#include "tools/server/completion_handler.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>

#include "tools/server/api_error.h"
#include "tools/server/connection_probe.h"
#include "tools/server/generation_setup.h"
#include "tools/server/metrics.h"
#include "tools/server/openai_format.h"
#include "tools/server/reply_writer.h"
#include "tools/server/request_log.h"
#include "tools/server/scheduler.h"

namespace bitjit::server {
namespace {

// The longest a connection thread waits for text before it checks again that its client is
// still there (it also checks whenever text comes).
constexpr std::chrono::milliseconds kProbeInterval{50};

uint64_t RandomSeed() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

std::string Detail(const GenerationStream& stream, const GenerationStream::Update& u,
                   bool streamed) {
  const char* how = u.finish_reason == FinishReason::kShutdown ? "shutdown"
                    : u.finish_reason == FinishReason::kError  ? "error"
                                                               : ApiName(u.finish_reason);
  return std::string(streamed ? "stream " : "") +
         "prompt=" + std::to_string(stream.prompt_tokens()) +
         " cached=" + std::to_string(std::max(stream.cached_tokens(), 0)) +
         " completion=" + std::to_string(u.completion_tokens) + " finish=" + how;
}

// The error a request gets when generation did not end normally.
ApiError EndedEarly(FinishReason reason) {
  ApiError e;
  e.type = "server_error";
  if (reason == FinishReason::kShutdown) {
    e.status = 503;
    e.message = "The server is shutting down.";
    e.code = "server_shutting_down";
  } else {
    e.status = 500;
    e.message = "Generation failed on the server (see its log).";
    e.code = "internal_error";
  }
  return e;
}

ReplyTotals Totals(GenerationStream& stream, const GenerationStream::Update& u) {
  return {u.finish_reason, stream.prompt_tokens(), u.completion_tokens, stream.timings()};
}

// A streamed reply: httplib calls Pump again and again on the connection's thread until it
// calls sink.done() or returns false; Close runs when the response goes, however it ended.
class SseReply {
 public:
  SseReply(const CompletionService& service, std::shared_ptr<GenerationStream> stream,
           std::unique_ptr<ReplyWriter> writer, ConnectionProbe probe)
      : scheduler_(service.scheduler),
        metrics_(service.metrics),
        stream_(std::move(stream)),
        writer_(std::move(writer)),
        probe_(probe) {}

  bool Pump(httplib::DataSink& sink) {
    if (!started_) {
      started_ = true;
      const std::string opening = writer_->StreamOpening();
      if (!opening.empty()) return Write(sink, opening);
    }
    if (probe_.PeerClosed()) return Abandon();
    GenerationStream::Update u;
    if (!stream_->Wait(kProbeInterval, &u)) return true;  // httplib calls again
    std::string out;
    if (u.finished && NormalEnd(u.finish_reason)) {
      const ReplyTotals totals = Totals(*stream_, u);
      if (metrics_) metrics_->RecordCompletion(totals);
      out = writer_->StreamEvents(u.text, u.tokens, &totals);
    } else {
      out = writer_->StreamEvents(u.text, u.tokens, nullptr);
      if (u.finished) out += writer_->StreamFailure(EndedEarly(u.finish_reason));
    }
    if (!out.empty() && !Write(sink, out)) return false;
    if (u.finished) {
      finished_ = true;
      NoteRequestDetail(Detail(*stream_, u, /*streamed=*/true));
      sink.done();
    }
    return true;
  }

  // The response is gone: if the reply was not over, the client left (or the server is
  // stopping); either way its slot is freed.
  void Close() {
    if (!finished_) scheduler_.Cancel(stream_);
  }

 private:
  bool Write(httplib::DataSink& sink, const std::string& data) {
    return sink.write(data.data(), data.size()) || Abandon();
  }
  bool Abandon() {
    scheduler_.Cancel(stream_);
    NoteRequestDetail("stream prompt=" + std::to_string(stream_->prompt_tokens()) +
                      " finish=client_gone");
    finished_ = true;  // nothing more to send
    return false;
  }

  Scheduler& scheduler_;
  ServerMetrics* metrics_;
  std::shared_ptr<GenerationStream> stream_;
  std::unique_ptr<ReplyWriter> writer_;
  ConnectionProbe probe_;
  bool started_ = false, finished_ = false;
};

}  // namespace

void HandleCompletion(const CompletionService& service, Endpoint endpoint, const std::string& body,
                      const httplib::Request& req, httplib::Response& res) {
  const CompletionRequest request = ParseCompletionRequest(endpoint, body, service.defaults);
  GenerationSpec spec =
      SetUpGeneration(service.tokenizer, service.scheduler.n_ctx(), request, RandomSeed());
  std::shared_ptr<GenerationStream> stream = service.scheduler.Submit(std::move(spec));
  if (!stream) {
    // A draining server (SIGTERM) finishes what it has and takes nothing new.
    const SchedulerStats stats = service.scheduler.stats();
    if (stats.draining || stats.stopping) throw EndedEarly(FinishReason::kShutdown);
    throw Overloaded(
        "The server is busy: every slot is generating and the waiting queue is "
        "full. Retry later.");
  }
  std::unique_ptr<ReplyWriter> writer =
      endpoint == Endpoint::kLlama ? MakeLlamaWriter(request, service.tokenizer, service.model_id)
                                   : MakeOpenAiWriter(request, service.tokenizer, service.model_id);
  ConnectionProbe probe(req.local_port, req.remote_addr, req.remote_port);

  if (request.stream) {
    res.set_header("Cache-Control", "no-cache");
    auto reply = std::make_shared<SseReply>(service, stream, std::move(writer), probe);
    res.set_chunked_content_provider(
        "text/event-stream",
        [reply](size_t /*offset*/, httplib::DataSink& sink) { return reply->Pump(sink); },
        [reply](bool /*success*/) { reply->Close(); });
    return;
  }

  std::string text;
  std::vector<GeneratedToken> tokens;
  GenerationStream::Update u;
  for (;;) {
    // Probed on every wake-up, not only when nothing came: a busy generation never times out.
    if (probe.PeerClosed()) {
      service.scheduler.Cancel(stream);
      NoteRequestDetail("prompt=" + std::to_string(stream->prompt_tokens()) +
                        " finish=client_gone");
      return;  // nobody to answer
    }
    if (!stream->Wait(kProbeInterval, &u)) continue;
    text += u.text;
    tokens.insert(tokens.end(), std::make_move_iterator(u.tokens.begin()),
                  std::make_move_iterator(u.tokens.end()));
    if (u.finished) break;
  }
  NoteRequestDetail(Detail(*stream, u, /*streamed=*/false));
  if (!NormalEnd(u.finish_reason)) throw EndedEarly(u.finish_reason);
  const ReplyTotals totals = Totals(*stream, u);
  if (service.metrics) service.metrics->RecordCompletion(totals);
  res.set_content(JsonText(writer->Whole(text, tokens, totals)), "application/json");
}

}  // namespace bitjit::server
