#include "tools/server/request_log.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <optional>

namespace bitjit::server {
namespace {

struct Note {
  std::optional<std::chrono::steady_clock::time_point> start;
  std::string detail;
};
thread_local Note note;

}  // namespace

std::string EscapeForLog(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '\\') {
      out += c;
    } else {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\x%02x", byte);
      out += buf;
    }
  }
  return out;
}

void NoteRequestStart() {
  note.start = std::chrono::steady_clock::now();
  note.detail.clear();
}

void NoteRequestDetail(std::string detail) {
  note.detail = std::move(detail);
}

void LogRequest(const httplib::Request& req, const httplib::Response& res) {
  std::string elapsed = "-";
  if (note.start) {
    const std::chrono::duration<double> d = std::chrono::steady_clock::now() - *note.start;
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.3fs", d.count());
    elapsed = buf;
  }
  // One fprintf per line, so that lines from concurrent connections do not interleave.
  std::fprintf(stderr, "%s:%d %s %s %d %s%s%s\n", req.remote_addr.c_str(), req.remote_port,
               EscapeForLog(req.method).c_str(), EscapeForLog(req.path).c_str(), res.status,
               elapsed.c_str(), note.detail.empty() ? "" : " ", note.detail.c_str());
  note = {};
}

}  // namespace bitjit::server
