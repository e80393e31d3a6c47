// SHA-256 (FIPS 180-4), to verify downloaded model files against the sha256 that Hugging Face
// publishes as the ETag of LFS files. Written here rather than taken from OpenSSL so that the
// core libraries need no crypto dependency for one hash.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace bitjit::download {

class Sha256 {
 public:
  Sha256();
  void Update(std::span<const uint8_t> bytes);
  void Update(std::string_view bytes) {
    Update(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  }
  // The digest of everything passed to Update; the object is then spent.
  std::array<uint8_t, 32> Finish();
  // Finish() as 64 lowercase hex digits.
  std::string FinishHex();

 private:
  void Compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// Hex digest of a whole file, read in chunks; `progress(done, total)` after each chunk.
// Throws bitjit::Error when the file cannot be read.
std::string Sha256FileHex(const std::string& path,
                          const std::function<void(uint64_t, uint64_t)>& progress = {});

// True for exactly 64 hex digits (either case): the form of a sha256 digest.
bool LooksLikeSha256(std::string_view text);

}  // namespace bitjit::download
