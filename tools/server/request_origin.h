// Who may talk to `bitjit serve`. A web page the user visits can send requests to a server on
// localhost: by DNS rebinding (its own name made to resolve to 127.0.0.1, so the browser lets it
// read the replies) or by a cross-site form POST (text/plain, which needs no CORS preflight).
// The server therefore answers only requests whose Host names it, runs POSTs only with a JSON
// Content-Type (which a cross-site page can send only after a CORS preflight), and grants CORS
// only to origins named with --cors.
#pragma once

#include <string>
#include <vector>

namespace bitjit::server {

// Whether a Host header (name or address, optional :port) names this server: "localhost", an IP
// address (rebinding needs a name the attacker controls; an address is no such name), or one of
// `allowed_names` (--allowed-hosts). A missing Host (HTTP/1.0) is allowed: browsers send one.
bool HostAllowed(const std::string& host_header, const std::vector<std::string>& allowed_names);

// Whether a Content-Type is application/json (any case, any parameters such as charset).
bool IsJsonContentType(const std::string& content_type);

// Whether `host`, a --host value, is a loopback address or "localhost" (only this machine can
// connect).
bool IsLoopbackHost(const std::string& host);

}  // namespace bitjit::server
