// The chat page `bitjit serve` answers at GET / (tools/server/web/): its HTML, script and style,
// embedded in the binary at build time, so the page needs no network and no build step of its
// own. Served with a Content-Security-Policy that allows only this server's own script, style
// and API: nothing inline, no other origin.
#pragma once

namespace httplib {
class Server;
}

namespace bitjit::server {

// The policy sent with the page.
inline constexpr const char* kWebPageCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Registers GET / (the page), GET /chat.js and GET /chat.css.
void AddWebPageRoutes(httplib::Server& http);

}  // namespace bitjit::server
