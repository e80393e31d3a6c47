#include "tools/server/request_body.h"

#include <httplib.h>

#include "tools/server/api_error.h"

namespace bitjit::server {

ApiError BodyTooLarge() {
  ApiError e;
  e.status = 413;
  e.message = "The request body is too large.";
  e.code = "request_too_large";
  return e;
}

std::string ReadBoundedBody(const httplib::ContentReader& reader, size_t max_bytes) {
  std::string body;
  bool too_large = false;
  const bool complete = reader([&](const char* data, size_t n) {
    if (n > max_bytes - body.size()) {
      too_large = true;
      return false;  // httplib stops reading and inflating here
    }
    body.append(data, n);
    return true;
  });
  if (too_large) throw BodyTooLarge();
  // A Content-Length over the limit never gets here: it is refused before routing.
  if (!complete) {
    throw BadRequest(
        "The request body could not be read (cut short, or badly chunked or encoded).");
  }
  return body;
}

}  // namespace bitjit::server
