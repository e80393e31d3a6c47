// Reading a POST body with a limit on the bytes it decodes to. httplib's own limit
// (set_payload_max_length) compares only the Content-Length header: a chunked body has none and
// was read whole, and a gzip or deflate body is limited by its compressed size (254 KB of gzip
// decoded to 256 MB). Here every byte httplib hands over, after it removed the chunk framing and
// inflated the encoding, is counted, and reading stops at the limit.
#pragma once

#include <cstddef>
#include <string>

namespace httplib {
class ContentReader;
}

namespace bitjit::server {

struct ApiError;

// Returns the decoded body. Throws ApiError: 413 once it decodes to more than `max_bytes`
// (nothing past the limit is read or inflated), 400 when it is cut short or badly framed or
// encoded.
std::string ReadBoundedBody(const httplib::ContentReader& reader, size_t max_bytes);

// The 413 for a body over the limit, wherever it was found to be.
ApiError BodyTooLarge();

}  // namespace bitjit::server
