#include "ir/base/output_path.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "ir/base/error.h"

namespace bitjit {
namespace {

const char* KindOf(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

void CheckOutputPath(const std::string& path) {
  if (path.empty()) Fail("no output path given");
  struct stat st;
  // lstat: a symlink is refused as such, not judged by what it points to.
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;  // a new file
    Fail("cannot write ", path, ": ", std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    Fail("refusing to write ", path, ": it is ", KindOf(st.st_mode),
         "; give the path of a regular file or a new one");
  }
}

}  // namespace bitjit
