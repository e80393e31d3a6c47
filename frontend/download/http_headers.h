// What a model download needs from HTTP response headers, collected line by line as libcurl
// hands them over (one response after another when redirects are followed). Kept apart from
// the libcurl code so that the parsing is testable without a network.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bitjit::download {

class ResponseHeaders {
 public:
  // One raw header line, "\r\n" included or not. A status line ("HTTP/1.1 302 Found") starts
  // a new response: the per-response fields are cleared, the X-Linked-* ones are kept, because
  // Hugging Face sends them on the redirect and not on the final (CDN) response.
  void AddLine(std::string_view line);

  int status() const { return status_; }  // of the last response; 0 before any
  std::optional<uint64_t> content_length() const { return content_length_; }
  // "Content-Range: bytes FIRST-LAST/TOTAL" ("bytes */TOTAL" in a 416 gives only the total).
  std::optional<uint64_t> range_first() const { return range_first_; }
  std::optional<uint64_t> range_total() const { return range_total_; }
  // The size of the whole file: X-Linked-Size, else the Content-Range total, else (for a 200)
  // Content-Length.
  std::optional<uint64_t> file_size() const;
  // The sha256 the server vouches for: X-Linked-ETag, else ETag, when it is 64 hex digits (as
  // Hugging Face's are for LFS files), lowercased; "" when there is none.
  std::string sha256() const;

 private:
  int status_ = 0;
  std::optional<uint64_t> content_length_, range_first_, range_total_, linked_size_;
  std::string etag_, linked_etag_;
};

// An ETag value without quotes and a weak "W/" prefix.
std::string_view UnquoteEtag(std::string_view value);

}  // namespace bitjit::download
