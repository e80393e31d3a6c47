#include "runtime/plan/sidecar_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "ir/base/error.h"

namespace bitjit::plan {

SidecarWriter::SidecarWriter(const std::string& path)
    : path_(path), chunk_(std::make_unique<uint8_t[]>(kChunk)) {
  std::random_device random;
  for (int attempt = 0; fd_ < 0; ++attempt) {
    temporary_ =
        TemporaryPrefix(path) + std::to_string(::getpid()) + "-" + std::to_string(random());
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd_ < 0 && (errno != EEXIST || attempt >= 16))
      Fail("cannot write ", path, ": ", std::strerror(errno));
  }
}

SidecarWriter::~SidecarWriter() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(temporary_.c_str());
}

uint64_t SidecarWriter::Append(const uint8_t* data, size_t bytes, size_t align) {
  if (align == 0) Fail("SidecarWriter: alignment 0");
  const uint64_t at = offset_;
  Put(data, bytes);
  static constexpr uint8_t kZeros[256] = {};
  size_t pad = static_cast<size_t>((align - offset_ % align) % align);
  while (pad > 0) {
    const size_t n = std::min(pad, sizeof kZeros);
    Put(kZeros, n);
    pad -= n;
  }
  return at;
}

void SidecarWriter::Put(const uint8_t* data, size_t bytes) {
  offset_ += bytes;
  while (bytes > 0) {
    // Whole chunks straight from the caller's bytes when nothing is buffered: no copy.
    if (filled_ == 0 && bytes >= kChunk) {
      const size_t whole = bytes / kChunk * kChunk;
      WriteAll(data, whole);
      data += whole;
      bytes -= whole;
      continue;
    }
    const size_t n = std::min(bytes, kChunk - filled_);
    std::memcpy(chunk_.get() + filled_, data, n);
    filled_ += n;
    data += n;
    bytes -= n;
    if (filled_ == kChunk) {
      WriteAll(chunk_.get(), kChunk);
      filled_ = 0;
    }
  }
}

void SidecarWriter::WriteAll(const uint8_t* data, size_t bytes) {
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, data, std::min<size_t>(bytes, size_t{1} << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail("cannot write ", path_, ": ", n < 0 ? std::strerror(errno) : "short write");
    data += n;
    bytes -= static_cast<size_t>(n);
  }
}

void SidecarWriter::Finish() {
  if (fd_ < 0) Fail("cannot write ", path_, ": already closed");
  WriteAll(chunk_.get(), filled_);
  filled_ = 0;
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0 || ::rename(temporary_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    ::unlink(temporary_.c_str());
    Fail("cannot write ", path_, ": ", std::strerror(e));
  }
}

}  // namespace bitjit::plan
