#include "tools/id_list.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "ir/base/error.h"
#include "ir/base/output_path.h"

namespace bitjit::cli {

std::vector<int32_t> ParseIdList(std::string_view text, std::string_view flag) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    int32_t id = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || id < 0) {
      Fail("--", flag, ": '", item, "' is not a token id (expected e.g. 1,2,3)");
    }
    ids.push_back(id);
    start = end + 1;
  }
  return ids;
}

void WriteF32File(const std::string& path, const std::vector<float>& values) {
  CheckOutputPath(path);  // truncating a FIFO, device or a link's target is not ours to do
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) Fail("cannot write ", path, ": ", std::strerror(errno));
  const size_t n = std::fwrite(values.data(), sizeof(float), values.size(), f);
  const bool ok = n == values.size() && std::fclose(f) == 0;
  if (!ok) Fail("cannot write ", path, ": ", std::strerror(errno));
}

std::string ReadTextFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Fail("cannot read ", path, ": ", std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) Fail("cannot read ", path, ": ", std::strerror(errno));
  // A directory opens fine and reads as nothing: it would become an empty prompt.
  if (S_ISDIR(st.st_mode)) Fail("cannot read ", path, ": it is a directory");
  // Pipes and /dev/stdin are fine, but a file without an end (/dev/zero) must not be read until
  // memory runs out: whatever is past the cap is refused, not cut off.
  std::string text;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Fail("cannot read ", path, ": ", std::strerror(errno));
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > kMaxTextFileBytes) {
      Fail(path, " is larger than ", kMaxTextFileBytes >> 20,
           " MiB, the most a text file may hold here (more than any context takes)");
    }
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace bitjit::cli
