// Weight memory (codegen/memory/weight_memory.h): huge-page aligned blocks, 64-byte aligned
// zeroed pieces, shared ownership, and a clear error past capacity.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "codegen/memory/weight_memory.h"
#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

TEST(WeightMemory, PiecesAreAlignedZeroedAndDisjoint) {
  const std::vector<size_t> sizes = {1, 63, 64, 65, 4096, 3 << 20, 7};
  size_t capacity = 0;
  for (size_t s : sizes) capacity += WeightArena::Footprint(s);
  WeightArena arena(capacity);
  std::vector<std::shared_ptr<uint8_t[]>> pieces;
  for (size_t s : sizes) pieces.push_back(arena.Take(s));
  EXPECT_EQ(arena.used(), capacity);
  // The block starts on a 2 MiB boundary, where the kernel can back it with huge pages.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(pieces[0].get()) % (2 << 20), 0u);
  for (size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_EQ(reinterpret_cast<uintptr_t>(pieces[i].get()) % kWeightAlign, 0u) << i;
    for (size_t b = 0; b < sizes[i]; ++b) ASSERT_EQ(pieces[i][b], 0) << i;
    std::memset(pieces[i].get(), static_cast<int>(i + 1), sizes[i]);
  }
  // Writing each piece whole left the others as they were.
  for (size_t i = 0; i < sizes.size(); ++i)
    for (size_t b = 0; b < sizes[i]; ++b) ASSERT_EQ(pieces[i][b], i + 1) << i;
}

TEST(WeightMemory, RefusesToTakeMoreThanItsCapacity) {
  WeightArena arena(128);
  auto a = arena.Take(64);
  EXPECT_THROW(arena.Take(65), Error);
  auto b = arena.Take(64);
  EXPECT_THROW(arena.Take(1), Error);
}

TEST(WeightMemory, PiecesOutliveTheArena) {
  std::shared_ptr<uint8_t[]> piece;
  {
    WeightArena arena(256);
    arena.Take(64);
    piece = arena.Take(100);
  }
  piece[99] = 7;  // still mapped: the piece shares ownership of the block
  EXPECT_EQ(piece[99], 7);
  EXPECT_EQ(piece[0], 0);
}

}  // namespace
}  // namespace bitjit::codegen
