#include "tools/http_download.h"

#include "ir/base/error.h"

#if BITJIT_HAVE_CURL

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

#include "frontend/download/http_headers.h"
#include "tools/progress_bar.h"

namespace bitjit::cli {
namespace {

// No model file comes near this; a server announcing more is wrong or hostile (2^64-1 never
// completed). Without an announced size a body may be at most kMaxUnannouncedBytes.
constexpr uint64_t kMaxAnnouncedBytes = uint64_t{1} << 40;     // 1 TiB
constexpr uint64_t kMaxUnannouncedBytes = uint64_t{64} << 30;  // 64 GiB

// State shared with libcurl's callbacks during one request.
struct Transfer {
  int fd = -1;
  std::string part_path;
  uint64_t offset = 0;   // bytes of the file before this request's body
  uint64_t written = 0;  // body bytes written by this request
  bool body_started = false;
  bool body_is_file = false;  // the final response carries the file (200/206), not an error page
  uint64_t limit = kMaxUnannouncedBytes;  // the file ends here: bytes past it are refused
  std::string error;                      // why a callback aborted the transfer
  download::ResponseHeaders headers;
  ProgressBar* bar = nullptr;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  static_cast<Transfer*>(user)->headers.AddLine(std::string_view(data, size * count));
  return size * count;
}

// Decides, at the first byte of the final response's body, where that body goes.
bool StartBody(Transfer* t) {
  t->body_started = true;
  const int status = t->headers.status();
  if (const std::optional<uint64_t> size = t->headers.file_size()) {
    if (*size > kMaxAnnouncedBytes) {
      t->error = "the server announced a file of " + std::to_string(*size) +
                 " bytes, more than any model (at most " + std::to_string(kMaxAnnouncedBytes) + ")";
      return false;
    }
    t->limit = *size;
  }
  if (status == 206) {
    if (t->headers.range_first() != t->offset) {
      t->error = "the server answered the request for bytes " + std::to_string(t->offset) +
                 "- with another range";
      return false;
    }
    t->body_is_file = true;
  } else if (status == 200) {
    // Either a fresh download, or the server ignored the Range header and sends the whole
    // file: start the partial file over.
    if (::ftruncate(t->fd, 0) != 0 || ::lseek(t->fd, 0, SEEK_SET) != 0) {
      t->error = "cannot write " + t->part_path + ": " + std::strerror(errno);
      return false;
    }
    t->offset = 0;
    t->body_is_file = true;
  }
  return true;
}

// libcurl passes only the final response's body here (it skips those of redirects).
size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (!t->body_started && !StartBody(t)) return 0;  // 0 aborts the transfer
  if (!t->body_is_file) return bytes;               // an error page: dropped
  if (bytes > t->limit - std::min(t->limit, t->offset + t->written)) {
    t->error = "the server sent more than the " + std::to_string(t->limit) + " bytes " +
               (t->headers.file_size() ? "it announced" : "allowed without an announced size");
    return 0;
  }
  for (size_t done = 0; done < bytes;) {
    const ssize_t n = ::write(t->fd, data + done, bytes - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      t->error = "cannot write " + t->part_path + ": " + std::strerror(errno);
      return 0;
    }
    done += static_cast<size_t>(n);
  }
  t->written += bytes;
  return bytes;
}

int OnProgress(void* user, curl_off_t dl_total, curl_off_t dl_now, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->body_is_file && dl_total > 0) {
    t->bar->Update(t->offset + static_cast<uint64_t>(dl_now),
                   t->offset + static_cast<uint64_t>(dl_total));
  }
  return 0;
}

struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

// What every request of pull sets: the URL, http(s) only (redirects too, at most 10), the user
// agent, where curl writes its error text, and the connect timeout.
void SetCommonOptions(CURL* c, const std::string& url, char* error_buffer) {
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "bitjit");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
}

// One request. Returns the final status; throws on network and local errors.
int Fetch(const std::string& url, Transfer* t) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) Fail("cannot start libcurl");
  char error_buffer[CURL_ERROR_SIZE] = "";
  const std::string range = std::to_string(t->offset) + "-";
  CURL* c = curl.get();
  SetCommonOptions(c, url, error_buffer);
  // A stalled connection (under 1 byte/s for a minute) is an error, not a hang.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  if (t->offset > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  const CURLcode code = curl_easy_perform(c);
  if (!t->error.empty()) Fail(t->error);
  if (code != CURLE_OK) {
    const uint64_t kept = t->offset + t->written;
    Fail("download of ", url, " failed: ", *error_buffer ? error_buffer : curl_easy_strerror(code),
         kept > 0 ? " (" + std::to_string(kept) + " bytes kept in " + t->part_path +
                        "; run the same command again to resume)"
                  : std::string());
  }
  return t->headers.status();
}

// The headers of the whole file's response (HEAD, following redirects).
download::ResponseHeaders HeadersOf(const std::string& url) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) Fail("cannot start libcurl");
  char error_buffer[CURL_ERROR_SIZE] = "";
  Transfer t;
  CURL* c = curl.get();
  SetCommonOptions(c, url, error_buffer);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  const CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) {
    Fail("cannot check ", url, ": ", *error_buffer ? error_buffer : curl_easy_strerror(code));
  }
  return t.headers;
}

}  // namespace

DownloadResult DownloadToPart(const std::string& url, const std::string& part_path, bool progress) {
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (init != CURLE_OK) Fail("cannot start libcurl: ", curl_easy_strerror(init));
  // Two attempts: the second after a 416 that says the partial file is not a prefix.
  for (int attempt = 0; attempt < 2; ++attempt) {
    // A link or a device where the partial file goes is not ours to write through (O_NONBLOCK:
    // a FIFO fails at once instead of waiting for a reader; it changes nothing for a file).
    const int fd =
        ::open(part_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0 && errno == ELOOP) Fail(part_path, " is a symbolic link; refusing to follow it");
    if (fd < 0) Fail("cannot write ", part_path, ": ", std::strerror(errno));
    FdCloser closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      Fail(part_path, " is not a regular file; refusing to write to it");
    }
    const off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) Fail("cannot write ", part_path, ": ", std::strerror(errno));
    ProgressBar bar("download", progress && ProgressBar::ShouldShow());
    Transfer t;
    t.fd = fd;
    t.part_path = part_path;
    t.offset = static_cast<uint64_t>(end);
    t.bar = &bar;
    const int status = Fetch(url, &t);
    DownloadResult result;
    result.expected_size = t.headers.file_size();
    result.sha256 = t.headers.sha256();
    if (status == 416) {
      // Nothing left to send: complete if the server's total is what we hold.
      if (t.headers.range_total() == t.offset) {
        result.bytes_on_disk = result.resumed_from = t.offset;
        if (!result.expected_size) result.expected_size = t.offset;
        // A 416 seldom carries the checksum (an ETag): ask for the headers of the whole file,
        // or a leftover partial file of the right size but wrong bytes would pass unchecked.
        if (result.sha256.empty()) result.sha256 = HeadersOf(url).sha256();
        return result;
      }
      if (::ftruncate(fd, 0) != 0) Fail("cannot write ", part_path, ": ", std::strerror(errno));
      continue;
    }
    if (status == 404) Fail("not found: ", url);
    if (status == 401)
      Fail("HTTP 401 for ", url, " (no such repository, or a private or gated one)");
    if (status != 200 && status != 206) Fail("HTTP ", status, " for ", url);
    // A 200 with an empty body never reached OnBody to drop the stale bytes.
    if (status == 200 && !t.body_started && ::ftruncate(fd, 0) != 0) {
      Fail("cannot write ", part_path, ": ", std::strerror(errno));
    }
    if (::fsync(fd) != 0) Fail("cannot write ", part_path, ": ", std::strerror(errno));
    bar.Finish();
    result.resumed_from = status == 206 ? t.offset : 0;
    result.bytes_on_disk = status == 206 ? t.offset + t.written : t.written;
    return result;
  }
  Fail("the server refused to resume ", part_path, " twice; delete it and try again");
}

}  // namespace bitjit::cli

#else  // !BITJIT_HAVE_CURL

namespace bitjit::cli {
DownloadResult DownloadToPart(const std::string&, const std::string&, bool) {
  Fail(
      "this bitjit was built without libcurl, so it cannot download (install "
      "libcurl4-openssl-dev and rebuild)");
}
}  // namespace bitjit::cli

#endif
