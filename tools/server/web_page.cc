#include "tools/server/web_page.h"

#include <httplib.h>

#include <string>
#include <string_view>

namespace bitjit::server {

namespace web {
// Defined in the sources tools/server/CMakeLists.txt generates from tools/server/web/.
std::string_view ChatHtml();
std::string_view ChatJs();
std::string_view ChatCss();
}  // namespace web

namespace {

void AddFile(httplib::Server& http, const char* path, std::string_view (*content)(),
             const char* content_type, bool is_page) {
  http.Get(path, [=](const httplib::Request&, httplib::Response& res) {
    const std::string_view bytes = content();
    res.set_content(bytes.data(), bytes.size(), content_type);
    // Browsers must take the script and style for what they are declared to be.
    res.set_header("X-Content-Type-Options", "nosniff");
    // A newer binary serves a newer page: a cached copy is checked before use.
    res.set_header("Cache-Control", "no-cache");
    if (is_page) {
      res.set_header("Content-Security-Policy", kWebPageCsp);
      res.set_header("Referrer-Policy", "no-referrer");
    }
  });
}

}  // namespace

// (httplib takes route paths as regular expressions: the dots are escaped.)
void AddWebPageRoutes(httplib::Server& http) {
  AddFile(http, "/", web::ChatHtml, "text/html; charset=utf-8", /*is_page=*/true);
  AddFile(http, R"(/chat\.js)", web::ChatJs, "text/javascript; charset=utf-8", /*is_page=*/false);
  AddFile(http, R"(/chat\.css)", web::ChatCss, "text/css; charset=utf-8", /*is_page=*/false);
}

}  // namespace bitjit::server
