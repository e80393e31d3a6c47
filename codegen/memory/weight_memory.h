// Memory for the tables kernels stream once per token: packed ternary weights and lm_head
// tables (hundreds of megabytes, read front to back every decode step).
//
// Why not operator new: streaming a gigabyte through 4 KiB pages costs a page walk every
// 4 KiB. On the Zen 4 VMs we bench on, one thread reads 21-22 GB/s from 4 KiB pages and
// 28-29 GB/s from 2 MiB pages (a plain AVX2 read loop over 1 GiB), and decode is bound by
// exactly that. So weight memory is anonymous, 2 MiB aligned and advised for transparent
// huge pages (MADV_HUGEPAGE: the kernel honours it in both "always" and "madvise" modes and
// falls back to 4 KiB pages otherwise, so this never fails for lack of huge pages).
//
// A WeightArena hands out 64-byte aligned pieces of one such mapping, so that a model's
// hundred-odd tensors share huge pages rather than each ending on a partly used one (which
// would cost up to 2 MiB of resident memory per tensor). Pieces hold shared ownership of the
// mapping: it lives until the last piece is gone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace bitjit::codegen {

inline constexpr size_t kWeightAlign = 64;
inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// Maps `length` bytes (rounded up to whole pages) read/written as `prot` at a 2 MiB-aligned
// address, where the kernel can back or map them with 2 MiB pages: anonymous memory (fd -1,
// zero-filled) or the file `fd` from offset 0, private. Reserves one huge page more, maps over
// its aligned start and gives both ends back. MAP_FAILED (errno set) when it cannot.
void* MapAtHugePageBoundary(size_t length, int prot, int fd);

class WeightArena {
 public:
  // Maps `capacity` bytes (zero-filled on first touch). Throws bitjit::Error when the memory
  // cannot be had.
  explicit WeightArena(size_t capacity);

  // The bytes a piece of `bytes` uses up: pieces start on kWeightAlign boundaries.
  static size_t Footprint(size_t bytes) {
    return (bytes + kWeightAlign - 1) / kWeightAlign * kWeightAlign;
  }

  // The next `bytes` of the arena, zeroed. Throws bitjit::Error past capacity.
  std::shared_ptr<uint8_t[]> Take(size_t bytes);

  size_t capacity() const { return capacity_; }
  size_t used() const { return used_; }

 private:
  std::shared_ptr<uint8_t[]> block_;
  size_t capacity_ = 0;
  size_t used_ = 0;
};

// One table on its own arena.
std::shared_ptr<uint8_t[]> AllocateWeightMemory(size_t bytes);

}  // namespace bitjit::codegen
