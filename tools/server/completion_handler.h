// POST /v1/chat/completions and POST /v1/completions: parse and check the request, queue it with
// the scheduler, then either wait for the whole reply or stream it as server-sent events while
// it is generated. A client that goes away cancels its request, which frees its slot.
#pragma once

#include <string>

#include "tools/server/completion_request.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace bitjit {
class Tokenizer;
}

namespace bitjit::server {

class Scheduler;

struct CompletionService {
  Scheduler& scheduler;
  const Tokenizer& tokenizer;
  std::string model_id;  // the one model served (GET /v1/models)
  RequestDefaults defaults;
};

// `body` is the request's, already read within the size limit. Throws ApiError for a bad request
// or a full queue (nothing has been sent then).
void HandleCompletion(const CompletionService& service, Endpoint endpoint, const std::string& body,
                      const httplib::Request& req, httplib::Response& res);

}  // namespace bitjit::server
