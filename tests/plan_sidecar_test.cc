// The plan's sidecar on disk: written in 2 MiB chunks (runtime/plan/sidecar_writer.h) and mapped
// on a 2 MiB boundary (runtime/plan/sidecar_mapping.h), which is what lets a load run on it in
// place with 2 MiB pages.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "ir/base/error.h"
#include "runtime/plan/sidecar_mapping.h"
#include "runtime/plan/sidecar_writer.h"
#include "tests/testing/cli.h"

namespace bitjit::plan {
namespace {

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<uint8_t> Pattern(size_t bytes, uint8_t seed) {
  std::vector<uint8_t> v(bytes);
  for (size_t i = 0; i < bytes; ++i) v[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 11));
  return v;
}

TEST(SidecarWriter, PiecesLandAtTheirOffsetsPaddedWithZeros) {
  testing::TempDir dir;
  const std::string path = dir.File("plan.weights");
  constexpr size_t kChunk = SidecarWriter::kChunk;
  // Pieces that start inside a chunk, end on and across chunk boundaries, and several chunks
  // long from a chunk boundary (the path that writes the caller's bytes without a copy).
  const std::vector<size_t> sizes = {
      0, 1, 63, 64, kChunk - 129, kChunk + 3, 0, 3 * kChunk, 5 * kChunk + 100, 17};
  std::vector<uint8_t> expected;
  std::vector<uint64_t> offsets;
  {
    SidecarWriter w(path);
    for (size_t i = 0; i < sizes.size(); ++i) {
      const std::vector<uint8_t> piece = Pattern(sizes[i], static_cast<uint8_t>(i));
      const uint64_t at = w.Append(piece.data(), piece.size(), 64);
      EXPECT_EQ(at, expected.size()) << "piece " << i;
      EXPECT_EQ(at % 64, 0u);
      offsets.push_back(at);
      expected.insert(expected.end(), piece.begin(), piece.end());
      expected.resize((expected.size() + 63) / 64 * 64, 0);
      EXPECT_EQ(w.size(), expected.size());
    }
    w.Finish();
  }
  EXPECT_EQ(std::filesystem::file_size(path), expected.size());
  EXPECT_TRUE(ReadAll(path) == expected);
}

// A rewrite is a new file renamed over the old one: a process running on the old sidecar in
// place keeps reading its bytes (truncating it would end that process with "changed while in
// use"), and an unfinished write leaves nothing behind.
TEST(SidecarWriter, ReplacesAnOldFileWithoutTouchingItsBytes) {
  testing::TempDir dir;
  const std::string path = dir.File("plan.weights");
  const std::vector<uint8_t> old_bytes = Pattern(SidecarWriter::kChunk + 777, 3);
  {
    SidecarWriter w(path);
    w.Append(old_bytes.data(), old_bytes.size(), 1);
    w.Finish();
  }
  const MappedSidecar running(path);
  {
    SidecarWriter w(path);
    const uint8_t byte = 5;
    w.Append(&byte, 1, 64);
    w.Finish();
  }
  std::vector<uint8_t> expected(64, 0);
  expected[0] = 5;
  EXPECT_TRUE(ReadAll(path) == expected);
  ASSERT_EQ(running.size(), old_bytes.size());
  EXPECT_TRUE(std::equal(old_bytes.begin(), old_bytes.end(), running.data()));
  {
    SidecarWriter unfinished(path);
    unfinished.Append(old_bytes.data(), old_bytes.size(), 64);
  }
  EXPECT_TRUE(ReadAll(path) == expected);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename(), "plan.weights");
    ++files;
  }
  EXPECT_EQ(files, 1);
  EXPECT_THROW(SidecarWriter(dir.File("missing/plan.weights")), Error);
}

TEST(MappedSidecar, MapsTheWholeFileOnAHugePageBoundary) {
  testing::TempDir dir;
  const std::string path = dir.File("plan.weights");
  const std::vector<uint8_t> bytes = Pattern(3 * SidecarWriter::kChunk + 4097, 9);
  {
    SidecarWriter w(path);
    w.Append(bytes.data(), bytes.size(), 1);
    w.Finish();
  }
  const MappedSidecar side(path);
  ASSERT_EQ(side.size(), bytes.size());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(side.data()) % (uintptr_t{2} << 20), 0u);
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), side.data()));
  // Three whole 2 MiB pieces to sample; what of them is in 2 MiB pages is the kernel's say.
  const MappedSidecar::HugePageSample sample = side.SampleHugePages();
  EXPECT_EQ(sample.sampled, 3 * SidecarWriter::kChunk);
  EXPECT_LE(sample.huge, sample.sampled);
  EXPECT_EQ(sample.huge % (size_t{2} << 20), 0u);  // whole 2 MiB pages, or none
  // Released pages read back from the page cache.
  side.Release(0, side.size());
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), side.data()));
}

TEST(MappedSidecar, RefusesWhatIsNotARegularFile) {
  testing::TempDir dir;
  EXPECT_THROW(MappedSidecar{dir.path()}, Error);
  EXPECT_THROW(MappedSidecar{dir.File("missing.weights")}, Error);
  const std::string fifo = dir.File("fifo.weights");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(MappedSidecar{fifo}, Error);  // and does not wait for a writer
  const std::string empty_path = dir.File("empty.weights");
  std::ofstream(empty_path).close();
  const MappedSidecar empty(empty_path);
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.SampleHugePages().sampled, 0u);
}

TEST(FilePmdMappedBytes, ReadsTheFieldOfTheMappingThatStartsThere) {
  const std::string smaps =
      "55d0c0000000-55d0c0200000 r--p 00000000 fe:00 1234      /usr/bin/bitjit\n"
      "Size:               2048 kB\n"
      "FilePmdMapped:      2048 kB\n"
      "VmFlags: rd mr mw me\n"
      "7f0000000000-7f0040000000 r--p 00000000 fe:00 99        /tmp/a plan-1.weights\n"
      "Size:            1048576 kB\n"
      "AnonHugePages:        0 kB\n"
      "FilePmdMapped:   1034240 kB\n"
      "VmFlags: rd mr mw me\n"
      "7f0040000000-7f0040001000 rw-p 00000000 00:00 0\n"
      "Size:                  4 kB\n"
      "VmFlags: rd wr mr mw me ac\n"
      "7f0050000000-7f0050200000 r--p 00000000 fe:00 98        /tmp/b.weights\n"
      "Size:               2048 kB\n";
  const auto at = [](uintptr_t a) { return reinterpret_cast<const void*>(a); };
  EXPECT_EQ(FilePmdMappedBytes(smaps, at(0x7f0000000000)), size_t{1034240} << 10);
  EXPECT_EQ(FilePmdMappedBytes(smaps, at(0x55d0c0000000)), size_t{2048} << 10);
  // No field in its own lines: 0, not the next mapping's.
  EXPECT_EQ(FilePmdMappedBytes(smaps, at(0x7f0040000000)), 0u);
  EXPECT_EQ(FilePmdMappedBytes(smaps, at(0x7f0050000000)), 0u);
  // An address inside a mapping, or of none: 0.
  EXPECT_EQ(FilePmdMappedBytes(smaps, at(0x7f0000001000)), 0u);
  EXPECT_EQ(FilePmdMappedBytes(smaps, at(0x1000)), 0u);
  EXPECT_EQ(FilePmdMappedBytes("", at(0x7f0000000000)), 0u);
}

}  // namespace
}  // namespace bitjit::plan
