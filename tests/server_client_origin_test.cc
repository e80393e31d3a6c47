// Who may talk to `bitjit serve`: requests whose Host does not name the server (DNS rebinding)
// are refused, POSTs must be JSON (a cross-site text/plain form POST ran a generation), and CORS
// is granted only to the origins named with --cors. The real server runs on loopback.
#include <gtest/gtest.h>

#include <httplib.h>

#include <string>

#include "tests/server/http_client.h"
#include "tests/server/server_process.h"
#include "tests/testing/golden.h"
#include "tools/server/request_origin.h"

namespace bitjit {
namespace {

using std::chrono::seconds;
using testing::ServerProcess;

TEST(HostAllowed, LocalhostAddressesAndConfiguredNamesOnly) {
  const std::vector<std::string> names = {"bitjit.lan"};
  for (const char* host : {"localhost", "localhost:8080", "LocalHost.", "127.0.0.1:80", "10.1.2.3",
                           "[::1]:8080", "bitjit.lan", "BITJIT.lan:9", ""}) {
    EXPECT_TRUE(server::HostAllowed(host, names)) << host;
  }
  for (const char* host : {"evil.example", "evil.example:8080", "localhost.evil.example",
                           "127.0.0.1.evil.example", "[::1", ":8080", "bitjit.lan.evil"}) {
    EXPECT_FALSE(server::HostAllowed(host, names)) << host;
  }
}

TEST(IsJsonContentType, MediaTypeOnly) {
  EXPECT_TRUE(server::IsJsonContentType("application/json"));
  EXPECT_TRUE(server::IsJsonContentType("Application/JSON; charset=utf-8"));
  EXPECT_FALSE(server::IsJsonContentType(""));
  EXPECT_FALSE(server::IsJsonContentType("text/plain"));
  EXPECT_FALSE(server::IsJsonContentType("application/x-www-form-urlencoded"));
  EXPECT_FALSE(server::IsJsonContentType("application/jsonx"));
}

TEST(IsLoopbackHost, LoopbackAddressesAndLocalhost) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"}) {
    EXPECT_TRUE(server::IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "192.168.1.2", "example.com"}) {
    EXPECT_FALSE(server::IsLoopbackHost(host)) << host;
  }
}

class ClientOrigin : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"-m", testing::SharedDir() + "/golden/tiny/model.gguf",
                                 "--parallel", "1", "-c", "256", "--allowed-hosts", "bitjit.lan",
                                 "--cors", "http://app.example"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_GT(server_->port(), 0) << server_->Log(); }

  static httplib::Result Call(const std::string& method, const std::string& path,
                              const httplib::Headers& headers, const std::string& body = "",
                              const std::string& type = "application/json") {
    httplib::Client cli("127.0.0.1", server_->port());
    cli.set_read_timeout(seconds(30));
    if (method == "GET") return cli.Get(path.c_str(), headers);
    if (method == "OPTIONS") return cli.Options(path.c_str(), headers);
    return cli.Post(path.c_str(), headers, body, type.c_str());
  }
  static std::string Chat() {
    return R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":1})";
  }

  static ServerProcess* server_;
};
ServerProcess* ClientOrigin::server_ = nullptr;

// A page on evil.example whose name was rebound to 127.0.0.1 sends Host: evil.example.
TEST_F(ClientOrigin, HostMustNameTheServer) {
  for (const char* path : {"/health", "/v1/models"}) {
    const httplib::Result evil = Call("GET", path, {{"Host", "evil.example:8080"}});
    ASSERT_TRUE(evil);
    EXPECT_EQ(evil->status, 403) << evil->body;
    EXPECT_NE(evil->body.find("host_not_allowed"), std::string::npos) << evil->body;
  }
  const httplib::Result post =
      Call("POST", "/v1/chat/completions", {{"Host", "evil.example"}}, Chat());
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 403) << post->body;
  for (const char* host : {"localhost", "127.0.0.1", "bitjit.lan:8080"}) {
    const httplib::Result ok = Call("GET", "/health", {{"Host", host}});
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << host << ": " << ok->body;
  }
}

// A cross-site form or fetch without preflight can send only text/plain, form or multipart.
TEST_F(ClientOrigin, PostsMustBeJson) {
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", ""}) {
    const httplib::Result r = Call("POST", "/v1/chat/completions", {}, Chat(), type);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 415) << type << ": " << r->body;
    EXPECT_NE(r->body.find("unsupported_media_type"), std::string::npos) << r->body;
  }
  const httplib::Result ok =
      Call("POST", "/v1/chat/completions", {}, Chat(), "application/json; charset=utf-8");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

TEST_F(ClientOrigin, CorsOnlyForTheNamedOrigin) {
  const httplib::Result other = Call("GET", "/v1/models", {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
  EXPECT_FALSE(other->has_header("Access-Control-Allow-Origin"));
  const httplib::Result other_preflight =
      Call("OPTIONS", "/v1/chat/completions",
           {{"Origin", "http://evil.example"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(other_preflight);
  EXPECT_FALSE(other_preflight->has_header("Access-Control-Allow-Origin"));

  const httplib::Result named = Call("GET", "/v1/models", {{"Origin", "http://app.example"}});
  ASSERT_TRUE(named);
  EXPECT_EQ(named->get_header_value("Access-Control-Allow-Origin"), "http://app.example");
  const httplib::Result preflight =
      Call("OPTIONS", "/v1/chat/completions",
           {{"Origin", "http://app.example"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Origin"), "http://app.example");
  EXPECT_NE(preflight->get_header_value("Access-Control-Allow-Headers").find("Content-Type"),
            std::string::npos);
}

// A page of a granted origin must be able to read why it was refused: the CORS headers are on
// error replies too (415 before the body is read, 404, 400 for a bad body), and a preflight
// with a foreign Host is refused, not granted.
TEST_F(ClientOrigin, CorsHeadersAreOnErrorRepliesToo) {
  const httplib::Headers from_app = {{"Origin", "http://app.example"}};
  const httplib::Result not_json =
      Call("POST", "/v1/chat/completions", from_app, Chat(), "text/plain");
  const httplib::Result no_route = Call("GET", "/nowhere", from_app);
  const httplib::Result bad_body =
      Call("POST", "/v1/chat/completions", from_app, "{\"messages\": 7}", "application/json");
  const std::pair<const httplib::Result*, int> replies[] = {
      {&not_json, 415}, {&no_route, 404}, {&bad_body, 400}};
  for (const auto& [reply, status] : replies) {
    ASSERT_TRUE(*reply);
    EXPECT_EQ((*reply)->status, status) << (*reply)->body;
    EXPECT_EQ((*reply)->get_header_value("Access-Control-Allow-Origin"), "http://app.example")
        << status;
  }
  httplib::Headers foreign = {{"Origin", "http://app.example"},
                              {"Access-Control-Request-Method", "POST"},
                              {"Host", "evil.example"}};
  const httplib::Result preflight = Call("OPTIONS", "/v1/chat/completions", foreign);
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 403) << preflight->body;
}

}  // namespace
}  // namespace bitjit
