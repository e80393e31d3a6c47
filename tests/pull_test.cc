// `bitjit pull` against a small HTTP server on 127.0.0.1 that this test runs in a thread (a
// hand-written one, because Debian's cpp-httplib is a shared library the test binary does not
// link). The served file is a `bitjit synth --preset tiny` model. Also SHA-256's FIPS test
// vectors and the parsing of the response headers pull relies on.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "frontend/download/http_headers.h"
#include "frontend/download/sha256.h"
#include "tests/testing/cli.h"

namespace bitjit {
namespace {

using testing::RunCli;
namespace fs = std::filesystem;

// GET only, one connection at a time, "Connection: close", and just what pull depends on:
// Range (206/416), extra headers such as ETag, redirects, and connections cut short.
class LoopbackServer {
 public:
  struct Entry {
    std::string body;
    std::vector<std::string> headers;  // extra header lines, e.g. "ETag: \"...\""
    bool honor_range = true;
    std::string redirect_to;               // non-empty: a 302 to this path, with `headers`
    size_t cut_after = std::string::npos;  // close after this many body bytes
    bool headers_on_416 = true;            // false: a 416 carries no `headers` (no ETag)
  };

  LoopbackServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~LoopbackServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  void Set(const std::string& path, Entry entry) {
    std::lock_guard lock(mutex_);
    entries_[path] = std::move(entry);
  }
  std::string Base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The Range header of every request so far ("" for none), in order.
  std::vector<std::string> ranges() const {
    std::lock_guard lock(mutex_);
    return ranges_;
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      Handle(client);
      ::close(client);
    }
  }

  static void Send(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

  void Handle(int fd) {
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      request.append(buffer, static_cast<size_t>(n));
    }
    std::istringstream lines(request);
    std::string method, path, line, range;
    lines >> method >> path;
    while (std::getline(lines, line)) {
      std::string lower = line;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower.rfind("range:", 0) == 0) range = line.substr(line.find_first_not_of(' ', 6));
      if (!range.empty() && range.back() == '\r') range.pop_back();
    }
    Entry entry;
    bool found = false;
    {
      std::lock_guard lock(mutex_);
      ranges_.push_back(range);
      if (auto it = entries_.find(path); it != entries_.end()) {
        entry = it->second;
        found = true;
      }
    }
    std::string head, body;
    if (!found) {
      body = "Entry not found";
      head = "HTTP/1.1 404 Not Found\r\n";
    } else if (!entry.redirect_to.empty()) {
      head = "HTTP/1.1 302 Found\r\nLocation: " + Base() + entry.redirect_to + "\r\n";
    } else {
      const size_t size = entry.body.size();
      const size_t first = range.rfind("bytes=", 0) == 0 ? std::stoul(range.substr(6)) : 0;
      if (range.empty() || !entry.honor_range) {
        head = "HTTP/1.1 200 OK\r\n";
        body = entry.body;
      } else if (first >= size) {
        head = "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */" +
               std::to_string(size) + "\r\n";
      } else {
        head = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(first) +
               "-" + std::to_string(size - 1) + "/" + std::to_string(size) + "\r\n";
        body = entry.body.substr(first);
      }
    }
    if (found && (entry.headers_on_416 || head.find(" 416 ") == std::string::npos)) {
      for (const std::string& h : entry.headers) head += h + "\r\n";
    }
    if (method == "HEAD") body.clear();
    head += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    Send(fd, head);
    Send(fd, std::string_view(body).substr(0, entry.cut_after));
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  std::vector<std::string> ranges_;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::string Sha256Hex(std::string_view bytes) {
  download::Sha256 sha;
  sha.Update(bytes);
  return sha.FinishHex();
}

// A build without libcurl (tools/CMakeLists.txt not linking it yet) cannot download at all.
#define SKIP_WITHOUT_CURL(result)                                  \
  if ((result).err.find("without libcurl") != std::string::npos) { \
    GTEST_SKIP() << "this bitjit was built without libcurl";       \
  }

class Pull : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_dir_ = new testing::TempDir;
    const auto r = RunCli({"synth", "--preset", "tiny", "-o", model_dir_->File("tiny.gguf")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    model_ = new std::string(Slurp(model_dir_->File("tiny.gguf")));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete model_dir_;
  }

  // Serves the model where pull looks for org/repo's model.gguf, with its sha256 as ETag.
  void ServeModel(LoopbackServer::Entry entry = {}) {
    entry.body = *model_;
    if (entry.headers.empty()) entry.headers = {"ETag: \"" + Sha256Hex(*model_) + "\""};
    server_.Set(kPath, entry);
  }
  testing::CliResult RunPull(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"pull",  "org/repo",          "--file",     "model.gguf",
                                     "--dir", dir_.File("models"), "--endpoint", server_.Base()};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCli(args);
  }
  std::string Final() const { return dir_.File("models/model.gguf"); }
  std::string Part() const { return dir_.File("models/model.gguf.part"); }

  static constexpr char kPath[] = "/org/repo/resolve/main/model.gguf";
  static testing::TempDir* model_dir_;
  static std::string* model_;
  LoopbackServer server_;
  testing::TempDir dir_;
};
testing::TempDir* Pull::model_dir_ = nullptr;
std::string* Pull::model_ = nullptr;

TEST_F(Pull, DownloadsVerifiesAndIdentifiesTheModel) {
  ServeModel();
  const auto r = RunPull({"--quiet"});
  SKIP_WITHOUT_CURL(r);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Slurp(Final()), *model_);
  EXPECT_FALSE(fs::exists(Part()));
  EXPECT_NE(r.out.find("sha256 verified"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GGUF v3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model: bitnet-b1.58"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");  // --quiet
  EXPECT_EQ(server_.ranges(), std::vector<std::string>{""});

  // A second pull finds the file and asks the server nothing.
  const auto again = RunPull();
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("already there"), std::string::npos) << again.err;
  EXPECT_EQ(server_.ranges().size(), 1u);
}

TEST_F(Pull, ResumesATruncatedPartialFile) {
  ServeModel();
  fs::create_directories(dir_.File("models"));
  const size_t kept = model_->size() / 3;
  std::ofstream(Part(), std::ios::binary) << model_->substr(0, kept);
  const auto r = RunPull();
  SKIP_WITHOUT_CURL(r);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(server_.ranges(), std::vector<std::string>{"bytes=" + std::to_string(kept) + "-"});
  EXPECT_EQ(Slurp(Final()), *model_);
  EXPECT_FALSE(fs::exists(Part()));
  EXPECT_NE(r.err.find("resumed after"), std::string::npos) << r.err;
}

TEST_F(Pull, ADroppedConnectionIsResumedByTheNextRun) {
  LoopbackServer::Entry cut;
  cut.cut_after = model_->size() / 2;
  ServeModel(cut);
  const auto first = RunPull({"--quiet"});
  SKIP_WITHOUT_CURL(first);
  EXPECT_EQ(first.exit_code, 2);
  EXPECT_EQ(std::count(first.err.begin(), first.err.end(), '\n'), 1) << first.err;
  EXPECT_NE(first.err.find("run the same command again to resume"), std::string::npos) << first.err;
  EXPECT_EQ(fs::file_size(Part()), model_->size() / 2);
  EXPECT_FALSE(fs::exists(Final()));

  ServeModel();
  const auto second = RunPull({"--quiet"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(server_.ranges().back(), "bytes=" + std::to_string(model_->size() / 2) + "-");
  EXPECT_EQ(Slurp(Final()), *model_);
}

TEST_F(Pull, AServerIgnoringRangeMakesItStartOver) {
  LoopbackServer::Entry entry;
  entry.honor_range = false;
  ServeModel(entry);
  fs::create_directories(dir_.File("models"));
  std::ofstream(Part(), std::ios::binary) << std::string(100, 'x');  // not even a prefix
  const auto r = RunPull({"--quiet"});
  SKIP_WITHOUT_CURL(r);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(server_.ranges(), std::vector<std::string>{"bytes=100-"});
  EXPECT_EQ(Slurp(Final()), *model_);
}

// Hugging Face answers /resolve/ with a redirect that carries the LFS sha256 as X-Linked-ETag,
// and the CDN it points to sends an ETag of its own.
TEST_F(Pull, FollowsRedirectsAndVerifiesTheLinkedEtag) {
  LoopbackServer::Entry redirect;
  redirect.redirect_to = "/cdn/blob";
  redirect.headers = {"X-Linked-ETag: \"" + Sha256Hex(*model_) + "\"",
                      "X-Linked-Size: " + std::to_string(model_->size())};
  server_.Set(kPath, redirect);
  LoopbackServer::Entry cdn;
  cdn.body = *model_;
  cdn.headers = {"ETag: \"0123abcd-not-a-sha\""};
  server_.Set("/cdn/blob", cdn);
  const auto r = RunPull({"--quiet"});
  SKIP_WITHOUT_CURL(r);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(server_.ranges().size(), 2u);
  EXPECT_NE(r.out.find("sha256 verified"), std::string::npos) << r.out;
  EXPECT_EQ(Slurp(Final()), *model_);
}

TEST_F(Pull, ChecksumMismatchLeavesNoFile) {
  LoopbackServer::Entry redirect;
  redirect.redirect_to = "/cdn/blob";
  redirect.headers = {"X-Linked-ETag: \"" + Sha256Hex("something else") + "\""};
  server_.Set(kPath, redirect);
  LoopbackServer::Entry cdn;
  cdn.body = *model_;
  server_.Set("/cdn/blob", cdn);
  const auto r = RunPull({"--quiet"});
  SKIP_WITHOUT_CURL(r);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("error: checksum mismatch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(Sha256Hex(*model_)), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(Final()));
  EXPECT_FALSE(fs::exists(Part()));
}

TEST_F(Pull, ShortBodyAgainstTheAnnouncedSizeIsIncomplete) {
  LoopbackServer::Entry entry;
  entry.headers = {"X-Linked-Size: " + std::to_string(model_->size() + 10)};
  ServeModel(entry);
  const auto r = RunPull({"--quiet"});
  SKIP_WITHOUT_CURL(r);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("download incomplete"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(Final()));
}

TEST_F(Pull, NotFoundIsOneLine) {
  const auto r = RunPull({"--quiet"});
  SKIP_WITHOUT_CURL(r);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: not found: " + server_.Base() + kPath + "\n");
  EXPECT_FALSE(fs::exists(Final()));
  EXPECT_FALSE(fs::exists(Part()));  // an empty partial file is not kept
}

// A leftover partial file of the right size but the wrong bytes: the server answers its Range
// with 416 and no ETag, and the checksum has to come from the whole file's headers.
TEST_F(Pull, APartialFileOfTheRightSizeIsVerifiedAfter416) {
  LoopbackServer::Entry entry;
  entry.headers_on_416 = false;
  ServeModel(entry);
  fs::create_directories(dir_.File("models"));
  std::ofstream(Part(), std::ios::binary) << std::string(model_->size(), 'x');
  const auto r = RunPull({"--quiet"});
  SKIP_WITHOUT_CURL(r);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("error: checksum mismatch"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(Final()));
  EXPECT_FALSE(fs::exists(Part()));
}

TEST_F(Pull, APartialFileThatIsALinkIsNotFollowed) {
  ServeModel();
  fs::create_directories(dir_.File("models"));
  std::ofstream(dir_.File("elsewhere"), std::ios::binary) << "keep me";
  fs::create_symlink(dir_.File("elsewhere"), Part());
  const auto r = RunPull({"--quiet"});
  SKIP_WITHOUT_CURL(r);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("symbolic link"), std::string::npos) << r.err;
  EXPECT_EQ(Slurp(dir_.File("elsewhere")), "keep me");
  EXPECT_FALSE(fs::exists(Final()));
}

// Writing stops at the announced size; an absurd announced size is refused outright.
TEST_F(Pull, NothingPastTheAnnouncedSizeIsWritten) {
  LoopbackServer::Entry entry;
  entry.headers = {"X-Linked-Size: " + std::to_string(model_->size() - 10)};
  ServeModel(entry);
  const auto r = RunPull({"--quiet"});
  SKIP_WITHOUT_CURL(r);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("sent more than the " + std::to_string(model_->size() - 10)),
            std::string::npos)
      << r.err;
  EXPECT_LE(fs::file_size(Part()), model_->size() - 10);
  EXPECT_FALSE(fs::exists(Final()));

  entry.headers = {"X-Linked-Size: 18446744073709551615"};
  ServeModel(entry);
  fs::remove(Part());
  const auto absurd = RunPull({"--quiet"});
  EXPECT_EQ(absurd.exit_code, 2);
  EXPECT_NE(absurd.err.find("announced a file of 18446744073709551615"), std::string::npos)
      << absurd.err;
  EXPECT_FALSE(fs::exists(Final()));
}

// An HTML page or an empty body under the model's name must not become the model: the next pull
// would say "already there".
TEST_F(Pull, WhatIsNotAGgufIsNotSaved) {
  for (const std::string& body : {std::string("<html>rate limited</html>"), std::string()}) {
    SCOPED_TRACE(body);
    LoopbackServer::Entry entry;
    entry.body = body;
    server_.Set(kPath, entry);
    const auto r = RunPull({"--quiet"});
    SKIP_WITHOUT_CURL(r);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("not a GGUF file"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(Final()));
    EXPECT_FALSE(fs::exists(Part()));
  }
}

TEST_F(Pull, NetworkErrorIsOneLine) {
  // A port that was free a moment ago: the connection is refused.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  const auto r = RunCli({"pull", "org/repo", "--dir", dir_.File("models"), "--endpoint",
                         "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), "--quiet"});
  SKIP_WITHOUT_CURL(r);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("error: download of http://127.0.0.1:", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(Pull, EndpointComesFromHfEndpoint) {
  ServeModel();
  ::setenv("HF_ENDPOINT", (server_.Base() + "/").c_str(), 1);
  const auto r =
      RunCli({"pull", "org/repo", "--file", "model.gguf", "--dir", dir_.File("models"), "--quiet"});
  ::unsetenv("HF_ENDPOINT");
  SKIP_WITHOUT_CURL(r);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Slurp(Final()), *model_);
}

TEST_F(Pull, RefusesPathsOutsideTheFolder) {
  const auto r = RunCli({"pull", "org/repo", "--file", "../escape.gguf", "--dir", dir_.File("m")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("must not contain"), std::string::npos) << r.err;
  EXPECT_TRUE(server_.ranges().empty());
}

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // One million 'a', fed in uneven pieces to exercise the block buffering.
  download::Sha256 sha;
  const std::string piece(997, 'a');
  size_t fed = 0;
  while (fed + piece.size() <= 1000000) {
    sha.Update(piece);
    fed += piece.size();
  }
  sha.Update(std::string(1000000 - fed, 'a'));
  EXPECT_EQ(sha.FinishHex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, LooksLikeSha256) {
  EXPECT_TRUE(download::LooksLikeSha256(std::string(64, 'A')));
  EXPECT_FALSE(download::LooksLikeSha256(std::string(40, 'a')));  // a git blob sha1
  EXPECT_FALSE(download::LooksLikeSha256(std::string(63, 'a') + "g"));
}

TEST(ResponseHeaders, KeepsLinkedValuesAcrossRedirects) {
  download::ResponseHeaders h;
  const std::string sha(64, 'a');
  h.AddLine("HTTP/1.1 302 Found\r\n");
  h.AddLine("X-Linked-ETag: \"" + std::string(64, 'A') + "\"\r\n");
  h.AddLine("X-Linked-Size: 1000\r\n");
  h.AddLine("ETag: W/\"" + std::string(64, 'b') + "\"\r\n");
  h.AddLine("HTTP/2 206\r\n");
  h.AddLine("content-range: bytes 100-999/1000\r\n");
  h.AddLine("Content-Length: 900\r\n");
  EXPECT_EQ(h.status(), 206);
  EXPECT_EQ(h.range_first(), 100u);
  EXPECT_EQ(h.range_total(), 1000u);
  EXPECT_EQ(h.content_length(), 900u);
  EXPECT_EQ(h.file_size(), 1000u);
  EXPECT_EQ(h.sha256(), sha);  // the linked one, lowercased; the redirect's ETag is gone
}

TEST(ResponseHeaders, PlainResponses) {
  download::ResponseHeaders h;
  h.AddLine("HTTP/1.1 200 OK");
  h.AddLine("Content-Length: 42");
  h.AddLine("ETag: \"" + std::string(40, 'c') + "\"");  // not a sha256: nothing to verify
  EXPECT_EQ(h.file_size(), 42u);
  EXPECT_EQ(h.sha256(), "");
  h.AddLine("HTTP/1.1 416 Range Not Satisfiable");
  h.AddLine("Content-Range: bytes */77");
  EXPECT_EQ(h.status(), 416);
  EXPECT_EQ(h.range_total(), 77u);
  EXPECT_FALSE(h.range_first().has_value());
  EXPECT_EQ(download::UnquoteEtag(" W/\"x\" "), "x");
}

}  // namespace
}  // namespace bitjit
