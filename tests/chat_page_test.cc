// The chat page of `bitjit serve` (GET /, tools/server/web/): served from the binary byte for
// byte as the files in the source tree, with its content types, Content-Security-Policy and
// nosniff; then driven in headless Chromium by tests/server/chat_page_test.mjs (replies equal
// the API's, Stop, escaping, no request to another origin).
#include <gtest/gtest.h>

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "tests/server/node_script.h"
#include "tests/server/server_process.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

using std::chrono::seconds;
using testing::ServerProcess;

const std::filesystem::path kSourceDir = BITJIT_SOURCE_DIR;

std::string SourceFile(const std::filesystem::path& relative) {
  std::ifstream in(kSourceDir / relative, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class ChatPage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A context long enough that the reply Stop cuts off is still going when it does.
    server_ = new ServerProcess({"-m", testing::SharedDir() + "/golden/tiny/model.gguf",
                                 "--parallel", "2", "-c", "65536", "--allow-long-context"});
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->Terminate(seconds(20)), 0) << server_->Log();
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_GT(server_->port(), 0) << server_->Log(); }

  static ServerProcess* server_;
};
ServerProcess* ChatPage::server_ = nullptr;

TEST_F(ChatPage, FilesAreServedAsInTheSourceTreeWithTheirTypes) {
  httplib::Client cli("127.0.0.1", server_->port());
  struct File {
    const char* path;
    const char* source;
    const char* type;
  };
  for (const File& f :
       {File{"/", "tools/server/web/chat.html", "text/html; charset=utf-8"},
        File{"/chat.js", "tools/server/web/chat.js", "text/javascript; charset=utf-8"},
        File{"/chat.css", "tools/server/web/chat.css", "text/css; charset=utf-8"}}) {
    SCOPED_TRACE(f.path);
    const httplib::Result res = cli.Get(f.path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), f.type);
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
    const std::string source = SourceFile(f.source);
    ASSERT_FALSE(source.empty()) << f.source;
    EXPECT_EQ(res->body, source);
  }
  // Only those paths: a route is a regular expression, "/chat.js" must not match "/chatXjs".
  for (const char* path : {"/chatXjs", "/chat.html", "/index.html"}) {
    const httplib::Result res = cli.Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404) << path;
  }
}

TEST_F(ChatPage, PageAllowsOnlyItsOwnScriptStyleAndApi) {
  httplib::Client cli("127.0.0.1", server_->port());
  const httplib::Result res = cli.Get("/");
  ASSERT_TRUE(res);
  const std::string csp = res->get_header_value("Content-Security-Policy");
  std::set<std::string> directives;
  for (size_t at = 0; at <= csp.size();) {
    const size_t end = std::min(csp.find(';', at), csp.size());
    directives.insert(csp.substr(at, end - at));
    at = csp.find_first_not_of(' ', end + 1);
    if (at == std::string::npos) break;
  }
  for (const char* directive :
       {"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
        "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"}) {
    EXPECT_EQ(directives.count(directive), 1u) << directive << " missing from " << csp;
  }
  EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("*"), std::string::npos) << csp;
  // The page holds no inline script or style, which that policy would block.
  EXPECT_EQ(res->body.find("<script>"), std::string::npos);
  EXPECT_EQ(res->body.find("<style"), std::string::npos);
  EXPECT_EQ(res->body.find("style=\""), std::string::npos);
  // HEAD gets the headers without the page.
  const httplib::Result head = cli.Head("/");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_TRUE(head->body.empty());
}

TEST_F(ChatPage, WorksInHeadlessChromium) {
  // Chromium (Debian's package) and playwright-core (tests/server/package.json) come from
  // scripts/setup.sh; without them this test fails.
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/chromium"))
      << "/usr/bin/chromium is missing: run scripts/setup.sh (it installs chromium)";
  const testing::NodeRun run = testing::RunNodeScript(
      (kSourceDir / "tests/server/chat_page_test.mjs").string(), {server_->url()});
  EXPECT_TRUE(run.ok) << run.output << server_->Log();
  EXPECT_NE(run.output.find("chat page: all checks passed"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace bitjit
