// POST /v1/chat/completions, POST /v1/completions and llama-server's POST /completion: parse and
// check the request, queue it with the scheduler, then either wait for the whole reply or stream
// it as server-sent events while it is generated, in the API's own shapes (reply_writer.h). A
// client that goes away cancels its request, which frees its slot. Whatever `model` a request
// names is served: there is one model (OpenAI clients send names such as "gpt-3.5-turbo").
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
class ServerMetrics;

struct CompletionService {
  Scheduler& scheduler;
  const Tokenizer& tokenizer;
  std::string model_id;  // the one model served (GET /v1/models), the name replies carry
  RequestDefaults defaults;
  ServerMetrics* metrics = nullptr;  // counts every request that ends normally
};

// `body` is the request's, already read within the size limit. Throws ApiError for a bad request
// or a full queue (nothing has been sent then).
void HandleCompletion(const CompletionService& service, Endpoint endpoint, const std::string& body,
                      const httplib::Request& req, httplib::Response& res);

}  // namespace bitjit::server
