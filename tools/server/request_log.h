// One line per request on stderr, e.g.
//   127.0.0.1:51234 POST /v1/chat/completions 200 0.153s stream prompt=12 completion=32
//   finish=length
// cpp-httplib calls its logger on the connection's thread once the response, a streamed body
// included, has been written; the handler, which runs on that same thread, leaves the details
// only it knows (token counts, how the request ended) in a thread-local note for the logger.
#pragma once

#include <string>
#include <string_view>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace bitjit::server {

// At the start of a request (the pre-routing handler).
void NoteRequestStart();
// Details for this request's log line; a later call replaces an earlier one.
void NoteRequestDetail(std::string detail);
// Prints the line (the logger); clears the note.
void LogRequest(const httplib::Request& req, const httplib::Response& res);

// `text` with every byte outside printable ASCII, and the backslash, written as \xHH: a request
// path is the client's text (httplib decodes %0a into a newline), and raw it could forge log
// lines or send escape sequences to a terminal.
std::string EscapeForLog(std::string_view text);

}  // namespace bitjit::server
