#include "frontend/download/http_headers.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "frontend/download/sha256.h"

namespace bitjit::download {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// A whole decimal number, or nothing.
std::optional<uint64_t> ParseU64(std::string_view s) {
  s = Trim(s);
  uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

}  // namespace

std::string_view UnquoteEtag(std::string_view value) {
  value = Trim(value);
  if (value.substr(0, 2) == "W/") value.remove_prefix(2);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  return value;
}

void ResponseHeaders::AddLine(std::string_view line) {
  line = Trim(line);
  if (line.substr(0, 5) == "HTTP/") {
    // "HTTP/1.1 206 Partial Content" or "HTTP/2 200".
    const size_t space = line.find(' ');
    status_ = 0;
    if (space != std::string_view::npos) {
      const auto code = ParseU64(line.substr(space + 1, 3));
      if (code) status_ = static_cast<int>(*code);
    }
    content_length_.reset();
    range_first_.reset();
    range_total_.reset();
    etag_.clear();
    return;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  const std::string_view name = Trim(line.substr(0, colon));
  const std::string_view value = Trim(line.substr(colon + 1));
  if (EqualsIgnoreCase(name, "content-length")) {
    content_length_ = ParseU64(value);
  } else if (EqualsIgnoreCase(name, "etag")) {
    etag_ = std::string(UnquoteEtag(value));
  } else if (EqualsIgnoreCase(name, "x-linked-etag")) {
    linked_etag_ = std::string(UnquoteEtag(value));
  } else if (EqualsIgnoreCase(name, "x-linked-size")) {
    linked_size_ = ParseU64(value);
  } else if (EqualsIgnoreCase(name, "content-range")) {
    // "bytes 100-199/1000", "bytes */1000", or a total of "*" (unknown).
    std::string_view v = value;
    if (v.substr(0, 6) != "bytes ") return;
    v.remove_prefix(6);
    const size_t slash = v.find('/');
    if (slash == std::string_view::npos) return;
    range_total_ = ParseU64(v.substr(slash + 1));
    const std::string_view span = v.substr(0, slash);
    const size_t dash = span.find('-');
    if (dash != std::string_view::npos) range_first_ = ParseU64(span.substr(0, dash));
  }
}

std::optional<uint64_t> ResponseHeaders::file_size() const {
  if (linked_size_) return linked_size_;
  if (range_total_) return range_total_;
  if (status_ == 200) return content_length_;
  return std::nullopt;
}

std::string ResponseHeaders::sha256() const {
  if (LooksLikeSha256(linked_etag_)) return Lower(linked_etag_);
  if (LooksLikeSha256(etag_)) return Lower(etag_);
  return "";
}

}  // namespace bitjit::download
