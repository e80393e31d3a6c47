// Fetching one URL into a partial file with libcurl, resuming what an earlier attempt left
// there. Verifying and renaming the result is the caller's (cmd_pull.cc).
//
// libcurl is linked only into the `bitjit` binary, and only when the build defines
// BITJIT_HAVE_CURL (tools/CMakeLists.txt: find_package(CURL), CURL::libcurl); without it
// DownloadToPart throws "this bitjit was built without libcurl".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace bitjit::cli {

struct DownloadResult {
  uint64_t bytes_on_disk = 0;             // size of the partial file afterwards
  uint64_t resumed_from = 0;              // bytes kept from before (0: started over)
  std::optional<uint64_t> expected_size;  // the whole file's size, when the server said
  std::string sha256;                     // the server's sha256 of the file, "" when none
};

// Downloads `url` into `part_path`, sending "Range: bytes=N-" when the file already holds N
// bytes: a 206 appends, a 200 (the server ignored the range) starts over, a 416 whose total
// equals N means the file is already complete. Follows redirects. Shows a ProgressBar when
// `progress` is set (it still draws only on a terminal). Throws bitjit::Error with one line:
// "not found: URL" for 404, "HTTP 403 for URL", or the network error; a partial file is
// kept for the next attempt.
DownloadResult DownloadToPart(const std::string& url, const std::string& part_path, bool progress);

}  // namespace bitjit::cli
