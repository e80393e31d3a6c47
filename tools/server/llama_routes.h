// llama-server's own routes besides POST /completion (completion_handler.h): POST /tokenize,
// POST /detokenize, GET /props, GET /slots and GET /health, in llama-server's shapes. Each
// builds its reply JSON from a request body or the scheduler's stats; http_server.cc registers
// them. Bad requests throw ApiError (400, naming the field).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "tools/server/completion_request.h"
#include "tools/server/scheduler.h"

namespace bitjit {
class Tokenizer;
}

namespace bitjit::server {

// What GET /props reports.
struct ServerProps {
  std::string model_id;
  std::string model_path;
  std::string chat_template;  // the model file's tokenizer.chat_template ("" if none)
  int64_t n_ctx = 0;          // of each slot
  RequestDefaults defaults;
};

// {"content", "add_special" (default false), "parse_special" (default true), "with_pieces"} ->
// {"tokens": [ids]} or, with pieces, [{"id", "piece"}] (a piece that is not UTF-8 as bytes).
nlohmann::json TokenizeReply(const Tokenizer& tokenizer, std::string_view body);
// {"tokens": [ids]} -> {"content"}.
nlohmann::json DetokenizeReply(const Tokenizer& tokenizer, std::string_view body);
nlohmann::json PropsReply(const ServerProps& props, const SchedulerStats& stats);
// One object per slot.
nlohmann::json SlotsReply(const SchedulerStats& stats, int64_t n_ctx);
// GET /health: 200 {"status": "ok"} with the slot counts bitjit has always reported; 503
// {"error": {...}} (type unavailable_error) once the server no longer takes requests. (The port
// opens only after the model is loaded, so llama-server's "loading" state never shows.)
struct HealthAnswer {
  int status = 200;
  nlohmann::json body;
};
HealthAnswer HealthReply(const SchedulerStats& stats);

}  // namespace bitjit::server
