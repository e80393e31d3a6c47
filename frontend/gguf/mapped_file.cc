#include "frontend/gguf/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "frontend/gguf/mapped_file_faults.h"
#include "ir/base/error.h"

namespace bitjit::gguf {

std::unique_ptr<MappedFile> MappedFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Fail("cannot open ", path, ": ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    Fail("cannot stat ", path, ": ", std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    Fail(path, " is not a regular file");
  }
  std::unique_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  if (st.st_size == 0) {
    ::close(fd);
    return file;
  }
  void* map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);
  if (map == MAP_FAILED) Fail("cannot map ", path, ": ", std::strerror(map_errno));
  file->base_ = map;
  file->size_ = static_cast<size_t>(st.st_size);
  RegisterMappedFile(map, file->size_, file->path_.c_str());
  return file;
}

MappedFile::~MappedFile() {
  if (base_ == nullptr) return;
  UnregisterMappedFile(base_);
  ::munmap(base_, size_);
}

}  // namespace bitjit::gguf
