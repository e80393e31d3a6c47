// Writes a plan's sidecar (the packed weights, hundreds of megabytes) so that the page cache can
// hold it in 2 MiB folios.
//
// Why: a load that runs on the mapped sidecar in place (runtime/plan/sidecar_mapping.h) needs no
// fresh memory, and fresh memory is what a first start pays most for on a VM (the host backs
// each new page when the guest first touches it: 1-2.5 s of system time for a gigabyte on the
// Zen 4 VMs we bench on). But decode streams the weights every token, and through 4 KiB pages
// that costs a TLB miss every 4 KiB. Filesystems with large folios (xfs since Linux 5.18, ext4
// since 6.16) give a written range a 2 MiB folio when one write covers a whole, aligned
// 2 MiB of the file, and the kernel then maps it with one page-table entry. So every write here
// is a whole 2 MiB chunk at a 2 MiB offset, but the last. (The same gigabyte written by an
// ofstream, a write per tensor, came back 24% in 2 MiB mappings; in chunks, 97%.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "codegen/memory/weight_memory.h"

namespace bitjit::plan {

class SidecarWriter {
 public:
  static constexpr size_t kChunk = codegen::kHugePageBytes;
  // The names the unfinished file of `path` gets start with this (plan_cache.cc knows them).
  static std::string TemporaryPrefix(const std::string& path) { return path + ".tmp-"; }

  // Writes a new file beside `path` that Finish renames over it (the caller has checked that
  // it may: ir/base/output_path.h). Never in place: a process running on the old sidecar in
  // place keeps its bytes (truncating them would end it with "changed while in use"). Throws
  // bitjit::Error "cannot write PATH: ...".
  explicit SidecarWriter(const std::string& path);
  ~SidecarWriter();
  SidecarWriter(const SidecarWriter&) = delete;
  SidecarWriter& operator=(const SidecarWriter&) = delete;

  // Appends `bytes` at the current offset, then zeros up to the next multiple of `align`, and
  // returns the offset the bytes start at.
  uint64_t Append(const uint8_t* data, size_t bytes, size_t align);
  // Writes what is left, closes the file and renames it to `path`; throws bitjit::Error on
  // any write error. Without it, the destructor removes the unfinished file.
  void Finish();
  uint64_t size() const { return offset_; }

 private:
  void Put(const uint8_t* data, size_t bytes);  // through the chunk buffer
  void WriteAll(const uint8_t* data, size_t bytes);

  std::string path_, temporary_;
  int fd_ = -1;
  std::unique_ptr<uint8_t[]> chunk_;
  size_t filled_ = 0;    // bytes of chunk_ not yet written
  uint64_t offset_ = 0;  // bytes appended so far
};

}  // namespace bitjit::plan
