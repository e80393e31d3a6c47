// The tuning cache and `bitjit tune`: the file survives a round trip and merges by key, is
// replaced atomically, never stops a model when damaged, is applied only to the CPU kind it was
// measured on, reaches compiled plans, and a tuned tile leaves the logits bit-identical.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/f16_gemv.h"
#include "ir/base/error.h"
#include "ir/base/half.h"
#include "plan.pb.h"
#include "runtime/model.h"
#include "runtime/schedule.h"
#include "runtime/tuning/lm_head_tuner.h"
#include "runtime/tuning/tile_choice.h"
#include "runtime/tuning/tile_tuner.h"
#include "runtime/tuning/tuning_cache.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

using codegen::Isa;
using codegen::TernaryTile;
using tuning::TuningCache;
using tuning::TuningEntry;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Points the process cache at `path` for one test, and back at the default afterwards.
class ScopedCachePath {
 public:
  explicit ScopedCachePath(const std::string& path) { tuning::SetTuningCachePath(path); }
  ~ScopedCachePath() { tuning::SetTuningCachePath(""); }
};

// The ISA the JIT uses here, or kRef when the CPU has none (the tests then skip).
Isa JitIsa() {
  return IsaSupported(Isa::kAvx2) ? codegen::BestIsa() : Isa::kRef;
}

// An accepted tile of `isa` other than its default (other rows, so the packed layout differs).
TernaryTile OtherTile(int64_t k, int64_t n, Isa isa) {
  const TernaryTile def = codegen::DefaultTernaryTile(isa);
  for (const TernaryTile& t : tuning::AcceptedTiles(k, n, isa))
    if (t.rows != def.rows) return t;
  ADD_FAILURE() << "no non-default tile for " << codegen::IsaName(isa);
  return def;
}

TuningEntry Entry(const codegen::CpuIdentity& cpu, Isa isa, int64_t k, int64_t n, TernaryTile tile,
                  int tasks_per_thread = 0) {
  TuningEntry e = tuning::MakeKey(cpu, isa, k, n);
  e.set_tile_rows(tile.rows);
  e.set_tile_tokens(tile.tokens);
  e.set_packing(codegen::TernaryPackingName(tile.packing));
  e.set_decode_tasks_per_thread(tasks_per_thread);
  e.set_prefill_tasks_per_thread(tasks_per_thread ? tasks_per_thread + 1 : 0);
  return e;
}

codegen::CpuIdentity OtherCpu() {
  codegen::CpuIdentity cpu = codegen::HostCpu();
  cpu.vendor = "OtherVendorX";
  cpu.family += 1;
  return cpu;
}

// The tiny golden model's ternary shapes (k, n).
const std::vector<std::pair<int64_t, int64_t>> kTinyShapes = {
    {256, 256}, {256, 128}, {256, 512}, {512, 256}};

std::string TinyModel() {
  return testing::SharedDir() + "/golden/tiny/model.gguf";
}

plan::Plan ReadPlan(const std::string& path) {
  plan::Plan p;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(p.ParseFromIstream(&in)) << path;
  return p;
}

TEST(TuningCache, RoundTripMergeAndAtomicRewrite) {
  testing::TempDir dir;
  const std::string path = dir.File("sub/cache.textproto");  // folders are created
  const auto& cpu = codegen::HostCpu();
  tuning::MergeIntoTuningCacheFile(path, {Entry(cpu, Isa::kAvx2, 2560, 2560, {16, 4}),
                                          Entry(cpu, Isa::kAvx2, 2560, 640, {8, 4})});
  TuningCache read = tuning::ReadTuningCacheFile(path);
  ASSERT_EQ(read.entries_size(), 2);
  EXPECT_EQ(read.format_version(), tuning::kTuningFormatVersion);
  EXPECT_EQ(read.entries(0).tile_rows(), 16);
  EXPECT_EQ(read.entries(1).k(), 2560);
  EXPECT_EQ(read.entries(1).n(), 640);
  EXPECT_EQ(ReadText(path).rfind("# bitjit tuning cache", 0), 0u) << "a readable header";

  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  // Re-tuning one shape replaces its entry only; a new shape is added.
  TuningEntry replaced = Entry(cpu, Isa::kAvx2, 2560, 640, {32, 2}, 8);
  replaced.set_decode_gbps(12.5);
  tuning::MergeIntoTuningCacheFile(path, {replaced, Entry(cpu, Isa::kAvx2, 6912, 2560, {16, 3})});
  read = tuning::ReadTuningCacheFile(path);
  ASSERT_EQ(read.entries_size(), 3);
  EXPECT_EQ(read.entries(0).tile_rows(), 16);  // untouched
  EXPECT_EQ(read.entries(1).tile_rows(), 32);
  EXPECT_EQ(read.entries(1).decode_tasks_per_thread(), 8);
  EXPECT_EQ(read.entries(1).prefill_tasks_per_thread(), 9);
  EXPECT_DOUBLE_EQ(read.entries(1).decode_gbps(), 12.5);
  EXPECT_EQ(read.entries(2).k(), 6912);

  // The file was replaced by a rename (a new inode), and no temporary file is left behind.
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  for (const auto& f : std::filesystem::directory_iterator(dir.File("sub"))) {
    const std::string name = f.path().filename().string();
    EXPECT_TRUE(name == "cache.textproto" || name == "cache.textproto.lock") << name;
  }
}

TEST(TuningCache, PathComesFromOverrideThenEnvironment) {
  setenv("BITJIT_TUNING_CACHE", "/tmp/from-env.textproto", 1);
  EXPECT_EQ(tuning::TuningCachePath(), "/tmp/from-env.textproto");
  {
    ScopedCachePath scoped("/tmp/from-flag.textproto");
    EXPECT_EQ(tuning::TuningCachePath(), "/tmp/from-flag.textproto");
  }
  unsetenv("BITJIT_TUNING_CACHE");
  EXPECT_NE(tuning::TuningCachePath().find("bitjit/tuning.textproto"), std::string::npos);
}

std::string Repeat(const std::string& s, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += s;
  return out;
}

TEST(TuningCache, DamagedFileMeansDefaultsNotACrash) {
  const Isa isa = JitIsa();
  if (isa == Isa::kRef) GTEST_SKIP() << "no JIT ISA on this CPU";
  testing::TempDir dir;
  const std::string path = dir.File("cache.textproto");
  for (const std::string& text :
       {std::string("entries { tile_rows: \"sixteen\" }\n"), std::string("\x01\x02garbage {{{"),
        std::string("format_version: 7\n"), std::string("format_version: 1\nentries { k: }\n"),
        // An unknown field nested far deeper than any cache (protobuf would skip it by
        // recursion until the stack overflows).
        "format_version: 1\nentries { " + Repeat("x { ", 200000) + Repeat("}", 200000) + " }\n"}) {
    SCOPED_TRACE(text);
    WriteText(path, text);
    try {
      tuning::ReadTuningCacheFile(path);
      ADD_FAILURE() << "a damaged cache must be reported";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    EXPECT_EQ(tuning::ReadTuningCacheOrEmpty(path).entries_size(), 0);
    ScopedCachePath scoped(path);
    const TernaryTile tile = ChooseTernaryTile(256, 256, isa);
    EXPECT_EQ(tile.rows, 0);
    EXPECT_EQ(tile.tokens, 0);
    EXPECT_EQ(ChooseTasksPerThread(256, 256, isa, 1), kDefaultTasksPerThread);
  }
  {
    ScopedCachePath scoped(path);
    ModelOptions options;
    options.isa = std::string(codegen::IsaName(isa));
    EXPECT_NO_THROW(Model::Load(TinyModel(), options));
  }
  // Tuning again replaces the damaged file.
  tuning::MergeIntoTuningCacheFile(path, {Entry(codegen::HostCpu(), isa, 256, 256, {16, 1})});
  EXPECT_EQ(tuning::ReadTuningCacheFile(path).entries_size(), 1);
}

// A newer bitjit adds fields (gemv_prefetch_bytes was one): this build still applies the fields
// it knows, and refuses to rewrite the file, which would drop the others.
TEST(TuningCache, FieldsOfANewerBitjitAreSkippedAndNeverDropped) {
  const Isa isa = JitIsa();
  if (isa == Isa::kRef) GTEST_SKIP() << "no JIT ISA on this CPU";
  testing::TempDir dir;
  const std::string path = dir.File("cache.textproto");
  const TernaryTile other = OtherTile(256, 256, isa);
  TuningCache cache;
  cache.set_format_version(tuning::kTuningFormatVersion);
  tuning::MergeEntries(&cache, {Entry(codegen::HostCpu(), isa, 256, 256, other)});
  std::string text = tuning::FormatTuningCache(cache);
  const size_t entry = text.find("entries {");
  ASSERT_NE(entry, std::string::npos);
  text.insert(entry + 9, "\n  gemv_streams_of_the_future: 3\n  future_block { depth: 2 }");
  WriteText(path, text);

  std::string unknown;
  const TuningCache read = tuning::ReadTuningCacheFile(path, &unknown);
  EXPECT_NE(unknown.find("gemv_streams_of_the_future"), std::string::npos) << unknown;
  ASSERT_EQ(read.entries_size(), 1);
  EXPECT_EQ(read.entries(0).tile_rows(), other.rows);
  {
    ScopedCachePath scoped(path);
    const TernaryTile tile = ChooseTernaryTile(256, 256, isa);
    EXPECT_EQ(tile.rows, other.rows);
    EXPECT_EQ(tile.tokens, other.tokens);
  }
  for (auto write : {std::function<void()>([&] { tuning::CheckTuningCacheRewritable(path); }),
                     std::function<void()>([&] {
                       tuning::MergeIntoTuningCacheFile(
                           path, {Entry(codegen::HostCpu(), isa, 512, 256, {16, 1})});
                     })}) {
    try {
      write();
      ADD_FAILURE() << "a file with unknown fields must not be rewritten";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("newer bitjit"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  std::ifstream in(path);
  std::ostringstream now;
  now << in.rdbuf();
  EXPECT_EQ(now.str(), text) << "the file must be left as it was";
}

TEST(TileChoice, UsesEntriesForThisCpuOnly) {
  const Isa isa = JitIsa();
  if (isa == Isa::kRef) GTEST_SKIP() << "no JIT ISA on this CPU";
  const TernaryTile other = OtherTile(2560, 640, isa);
  TuningCache cache;
  cache.set_format_version(tuning::kTuningFormatVersion);
  tuning::MergeEntries(&cache, {Entry(codegen::HostCpu(), isa, 2560, 640, other, 2),
                                Entry(OtherCpu(), isa, 2560, 2560, other, 2)});

  TernaryChoice mine = ChooseFromCache(cache, codegen::HostCpu(), isa, 2560, 640);
  EXPECT_TRUE(mine.tuned);
  EXPECT_EQ(mine.tile.rows, other.rows);
  EXPECT_EQ(mine.tile.tokens, other.tokens);
  EXPECT_EQ(mine.decode_tasks_per_thread, 2);
  EXPECT_EQ(mine.prefill_tasks_per_thread, 3);
  // Another microarchitecture's entry is not applied here, and vice versa.
  EXPECT_FALSE(ChooseFromCache(cache, codegen::HostCpu(), isa, 2560, 2560).tuned);
  EXPECT_FALSE(ChooseFromCache(cache, OtherCpu(), isa, 2560, 640).tuned);
  EXPECT_TRUE(ChooseFromCache(cache, OtherCpu(), isa, 2560, 2560).tuned);

  // The same through the process cache, as CompileModel asks.
  testing::TempDir dir;
  const std::string path = dir.File("cache.textproto");
  WriteText(path, tuning::FormatTuningCache(cache));
  ScopedCachePath scoped(path);
  EXPECT_EQ(ChooseTernaryTile(2560, 640, isa).rows, other.rows);
  EXPECT_EQ(ChooseTasksPerThread(2560, 640, isa, 1), 2);
  EXPECT_EQ(ChooseTasksPerThread(2560, 640, isa, 64), 3);
  EXPECT_EQ(ChooseTernaryTile(2560, 2560, isa).rows, 0);
  EXPECT_EQ(ChooseTasksPerThread(2560, 2560, isa, 1), kDefaultTasksPerThread);
}

// avx512amx runs the avx512vnni kernels' tiles: their entries apply to it unless it has its own.
TEST(TileChoice, Avx512AmxFallsBackToTheAvx512VnniEntries) {
  if (!codegen::IsaSupported(Isa::kAvx512Amx)) GTEST_SKIP() << "this CPU or OS has no AMX";
  const TernaryTile other = OtherTile(2560, 640, Isa::kAvx512Vnni);
  TernaryTile own = other;
  own.tokens = other.tokens == 5 ? 6 : 5;  // differs from the avx512vnni entry
  TuningCache cache;
  cache.set_format_version(tuning::kTuningFormatVersion);
  tuning::MergeEntries(&cache, {Entry(codegen::HostCpu(), Isa::kAvx512Vnni, 2560, 640, other, 2),
                                Entry(codegen::HostCpu(), Isa::kAvx512Vnni, 2560, 2560, other, 2),
                                Entry(codegen::HostCpu(), Isa::kAvx512Amx, 2560, 2560, own, 2)});
  const TernaryChoice vnni = ChooseFromCache(cache, codegen::HostCpu(), Isa::kAvx512Amx, 2560, 640);
  EXPECT_TRUE(vnni.tuned);
  EXPECT_EQ(vnni.tile.rows, other.rows);
  EXPECT_EQ(vnni.tile.tokens, other.tokens);
  const TernaryChoice mine =
      ChooseFromCache(cache, codegen::HostCpu(), Isa::kAvx512Amx, 2560, 2560);
  EXPECT_TRUE(mine.tuned);
  EXPECT_EQ(mine.tile.rows, own.rows);
  EXPECT_EQ(mine.tile.tokens, own.tokens);
  // Not the other way round: avx512vnni never takes avx512amx's entries.
  EXPECT_EQ(ChooseFromCache(cache, codegen::HostCpu(), Isa::kAvx512Vnni, 2560, 2560).tile.tokens,
            other.tokens);
}

TEST(TileChoice, RefusesATileTheKernelsCannotRun) {
  const Isa isa = JitIsa();
  if (isa == Isa::kRef) GTEST_SKIP() << "no JIT ISA on this CPU";
  TuningCache cache;
  tuning::MergeEntries(&cache, {Entry(codegen::HostCpu(), isa, 256, 256, {24, 99}, 500)});
  const TernaryChoice c = ChooseFromCache(cache, codegen::HostCpu(), isa, 256, 256);
  EXPECT_FALSE(c.tuned);
  EXPECT_EQ(c.tile.rows, 0);
  EXPECT_EQ(c.decode_tasks_per_thread, kDefaultTasksPerThread);
  EXPECT_EQ(c.prefill_tasks_per_thread, kDefaultTasksPerThread);
}

// The GEMV prefetch distance: the entry's when the kernels take it, unset (the kernels'
// default) without one, and a distance the kernels refuse makes the entry unusable.
TEST(TileChoice, GemvPrefetchComesFromTheEntryElseTheDefault) {
  const Isa isa = JitIsa();
  if (isa == Isa::kRef) GTEST_SKIP() << "no JIT ISA on this CPU";
  const TernaryTile tile = codegen::DefaultTernaryTile(isa);
  TuningCache cache;
  TuningEntry e = Entry(codegen::HostCpu(), isa, 256, 256, tile);
  e.set_packing(codegen::TernaryPackingName(DefaultTernaryPacking(isa)));
  tuning::MergeEntries(&cache, {e});
  TernaryChoice c = ChooseFromCache(cache, codegen::HostCpu(), isa, 256, 256);
  EXPECT_TRUE(c.tuned);
  EXPECT_FALSE(c.gemv_prefetch_bytes.has_value());

  e.set_gemv_prefetch_bytes(0);  // none, even where the default prefetches
  tuning::MergeEntries(&cache, {e});
  c = ChooseFromCache(cache, codegen::HostCpu(), isa, 256, 256);
  EXPECT_TRUE(c.tuned);
  EXPECT_EQ(c.gemv_prefetch_bytes, 0);

  for (int bad : {100, -64, 1 << 30}) {
    e.set_gemv_prefetch_bytes(bad);
    tuning::MergeEntries(&cache, {e});
    c = ChooseFromCache(cache, codegen::HostCpu(), isa, 256, 256);
    EXPECT_FALSE(c.tuned) << bad;
    EXPECT_FALSE(c.gemv_prefetch_bytes.has_value()) << bad;
  }

  // Through the process cache, as CompileModel and plan loading ask: the distance reaches the
  // kernel a model compiles (its name says it).
  e.set_gemv_prefetch_bytes(3072);
  testing::TempDir dir;
  const std::string path = dir.File("cache.textproto");
  tuning::MergeIntoTuningCacheFile(path, {e});
  ScopedCachePath scoped(path);
  TernaryTile laid_out = tile;
  laid_out.packing = DefaultTernaryPacking(isa);
  EXPECT_EQ(ChooseGemvPrefetch(256, 256, isa, laid_out), 3072);
  EXPECT_FALSE(ChooseGemvPrefetch(256, 128, isa, laid_out).has_value());
  // Measured with another layout (other rows, or the other packing): no guide, the default.
  TernaryTile other_rows = laid_out;
  other_rows.rows = OtherTile(256, 256, isa).rows;
  EXPECT_FALSE(ChooseGemvPrefetch(256, 256, isa, other_rows).has_value());
  TernaryTile other_packing = laid_out;
  other_packing.packing = laid_out.packing == codegen::TernaryPacking::k2Bit
                              ? codegen::TernaryPacking::k1p6Bit
                              : codegen::TernaryPacking::k2Bit;
  EXPECT_FALSE(ChooseGemvPrefetch(256, 256, isa, other_packing).has_value());
  const codegen::TernaryMatmul mm(256, 256, isa, laid_out,
                                  ChooseGemvPrefetch(256, 256, isa, laid_out));
  EXPECT_EQ(mm.gemv_prefetch_bytes(), 3072);
  EXPECT_NE(mm.F32KernelNames().find("_pf3072"), std::string::npos) << mm.F32KernelNames();
}

// The F16 lm_head's distance has its own key (kernel "f16_lm_head"): it never reads as a
// ternary shape's entry, a distance the kernel refuses falls back to the default, and the one it
// accepts reaches the kernel a model compiles.
TEST(TileChoice, F16LmHeadPrefetchComesFromItsOwnEntry) {
  const Isa isa = JitIsa();
  if (isa == Isa::kRef) GTEST_SKIP() << "no JIT ISA on this CPU";
  testing::TempDir dir;
  const std::string path = dir.File("cache.textproto");
  TuningEntry e = tuning::MakeKey(codegen::HostCpu(), isa, 256, 128, tuning::kF16LmHeadKernel);
  e.set_gemv_prefetch_bytes(3072);
  tuning::MergeIntoTuningCacheFile(path, {e});
  {
    ScopedCachePath scoped(path);
    EXPECT_EQ(ChooseF16LmHeadPrefetch(256, 128, isa), 3072);
    EXPECT_FALSE(ChooseF16LmHeadPrefetch(256, 256, isa).has_value());
    EXPECT_FALSE(
        ChooseFromCache(*tuning::ProcessTuningCache(), codegen::HostCpu(), isa, 256, 128).tuned)
        << "an lm_head entry is not a ternary matmul's";
    const codegen::F16Gemv gemv(256, isa, ChooseF16LmHeadPrefetch(256, 128, isa));
    EXPECT_NE(gemv.KernelName().find("_pf3072"), std::string::npos) << gemv.KernelName();
  }
  for (int bad : {100, -64, 1 << 30}) {
    e.set_gemv_prefetch_bytes(bad);
    tuning::MergeIntoTuningCacheFile(path, {e});
    ScopedCachePath scoped(path);
    EXPECT_FALSE(ChooseF16LmHeadPrefetch(256, 128, isa).has_value()) << bad;
  }
}

// The lm_head stage on its own: every distance measured, the default kept unless another was
// clearly faster, and the entry keyed as the lm_head's.
TEST(LmHeadTuner, MeasuresEveryDistanceAgainstTheDefault) {
  const Isa isa = JitIsa();
  if (isa == Isa::kRef) GTEST_SKIP() << "no JIT ISA on this CPU";
  const int64_t n = 256, vocab = 4096;
  std::vector<uint16_t> rows(n * vocab);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = FloatToHalf(0.001f * (i % 97));
  tuning::TuneOptions o;
  o.isa = isa;
  o.threads = 1;
  o.budget_s = 0.5;
  const tuning::ShapeTuning r = tuning::TuneF16LmHead({rows.data(), n, vocab}, o);
  EXPECT_EQ(r.entry.kernel(), tuning::kF16LmHeadKernel);
  EXPECT_EQ(r.entry.k(), n);
  EXPECT_EQ(r.entry.n(), vocab);
  EXPECT_EQ(r.entry.isa(), codegen::IsaName(isa));
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0].kind, "lm_head");
  const int default_distance = codegen::F16Gemv(n, isa).prefetch_bytes();
  const auto& options = tuning::kF16LmHeadPrefetchOptions;
  const bool default_is_an_option =
      std::find(std::begin(options), std::end(options), default_distance) != std::end(options);
  EXPECT_EQ(r.rows[0].tried, static_cast<int>(std::size(options)) + (default_is_an_option ? 0 : 1));
  EXPECT_EQ(r.entry.candidates(), r.rows[0].tried);
  EXPECT_GT(r.rows[0].default_figure, 0);
  EXPECT_GT(r.entry.default_decode_gbps(), 0);
  if (r.entry.has_gemv_prefetch_bytes()) {
    EXPECT_NE(r.entry.gemv_prefetch_bytes(), default_distance);
    EXPECT_GT(r.rows[0].speedup, 1.0);
  } else {
    EXPECT_EQ(r.rows[0].winner, r.rows[0].fallback);
  }
  EXPECT_THROW(tuning::TuneF16LmHead({nullptr, n, vocab}, o), Error);
}

// The packing: the entry's (2 bits for entries from before packings), the default without one
// (1.6 bits where the CPU has its kernels), and --ternary-packing over both.
TEST(TileChoice, PackingComesFromTheEntryElseTheDefault) {
  using codegen::TernaryPacking;
  EXPECT_EQ(DefaultTernaryPacking(Isa::kAvx2), TernaryPacking::k2Bit);
  EXPECT_EQ(DefaultTernaryPacking(Isa::kRef), TernaryPacking::k2Bit);
  EXPECT_EQ(DefaultTernaryPacking(Isa::kAvx512Vnni),
            codegen::HasAvx512Vbmi() ? TernaryPacking::k1p6Bit : TernaryPacking::k2Bit);
  EXPECT_EQ(DefaultTernaryPacking(Isa::kAvx512Amx), DefaultTernaryPacking(Isa::kAvx512Vnni));
  const Isa isa = JitIsa();
  if (isa == Isa::kRef) GTEST_SKIP() << "no JIT ISA on this CPU";
  const TernaryPacking def = DefaultTernaryPacking(isa);
  TuningCache cache;
  EXPECT_EQ(ChooseFromCache(cache, codegen::HostCpu(), isa, 256, 256).tile.packing, def);

  TuningEntry old = Entry(codegen::HostCpu(), isa, 256, 256, codegen::DefaultTernaryTile(isa));
  old.clear_packing();
  tuning::MergeEntries(&cache, {old});
  TernaryChoice c = ChooseFromCache(cache, codegen::HostCpu(), isa, 256, 256);
  EXPECT_TRUE(c.tuned);
  EXPECT_EQ(c.tile.packing, TernaryPacking::k2Bit);

  TuningEntry bad = old;
  bad.set_packing("3bit");
  tuning::MergeEntries(&cache, {bad});
  c = ChooseFromCache(cache, codegen::HostCpu(), isa, 256, 256);
  EXPECT_FALSE(c.tuned);
  EXPECT_EQ(c.tile.packing, def);

  TuningEntry dense = old;
  dense.set_packing("1.6bit");
  tuning::MergeEntries(&cache, {dense});
  c = ChooseFromCache(cache, codegen::HostCpu(), isa, 256, 256);
  const bool has_dense = codegen::TernaryPackingSupported(isa, TernaryPacking::k1p6Bit);
  EXPECT_EQ(c.tuned, has_dense);  // elsewhere the kernels refuse it: a warning, the defaults
  EXPECT_EQ(c.tile.packing, has_dense ? TernaryPacking::k1p6Bit : def);
  if (!has_dense) return;

  // --ternary-packing over a tuned tile: kept where the other packing's kernels run it.
  testing::TempDir dir;
  const std::string path = dir.File("cache.textproto");
  tuning::MergeIntoTuningCacheFile(
      path, {Entry(codegen::HostCpu(), isa, 256, 256, {64, 1, TernaryPacking::k2Bit}),
             Entry(codegen::HostCpu(), isa, 256, 128, {16, 3, TernaryPacking::k2Bit})});
  ScopedCachePath scoped(path);
  EXPECT_EQ(ChooseTernaryTile(256, 256, isa).packing, TernaryPacking::k2Bit);
  const TernaryTile forced = ChooseTernaryTile(256, 256, isa, TernaryPacking::k1p6Bit);
  EXPECT_EQ(forced.packing, TernaryPacking::k1p6Bit);
  EXPECT_EQ(forced.rows, 0) << "64-row tiles need more registers at 1.6 bits: the default";
  const TernaryTile kept = ChooseTernaryTile(256, 128, isa, TernaryPacking::k1p6Bit);
  EXPECT_EQ(kept.rows, 16);
  EXPECT_EQ(kept.tokens, 3);
  EXPECT_EQ(kept.packing, TernaryPacking::k1p6Bit);
}

// bitjit tune writes an entry per shape, --show prints them, and a plan compiled afterwards
// carries the cached tiles (one hand-edited to a non-default tile, so the check can fail).
TEST(TuneCommand, WritesEveryShapeAndCompileUsesThem) {
  const Isa isa = JitIsa();
  if (isa == Isa::kRef) GTEST_SKIP() << "no JIT ISA on this CPU";
  testing::TempDir dir;
  const std::string cache_path = dir.File("tuning.textproto");
  const testing::CliResult tune = testing::RunCli(
      {"tune", "-m", TinyModel(), "--budget", "2", "--quiet", "--tuning-cache", cache_path});
  ASSERT_EQ(tune.exit_code, 0) << tune.err;
  EXPECT_NE(tune.out.find("| 256x128"), std::string::npos) << tune.out;
  EXPECT_NE(tune.out.find("| prefetch "), std::string::npos) << tune.out;
  EXPECT_NE(tune.out.find("| lm_head "), std::string::npos) << tune.out;
  EXPECT_NE(tune.out.find("wrote 5 entries"), std::string::npos) << tune.out;

  TuningCache cache = tuning::ReadTuningCacheFile(cache_path);
  ASSERT_EQ(cache.entries_size(), static_cast<int>(kTinyShapes.size()) + 1);
  const TuningEntry* lm_head = nullptr;  // the tiny model's lm_head is its tied F16 token_embd
  for (const TuningEntry& e : cache.entries())
    if (e.kernel() == tuning::kF16LmHeadKernel) lm_head = &e;
  ASSERT_NE(lm_head, nullptr);
  EXPECT_EQ(lm_head->k(), 256);
  EXPECT_GT(lm_head->decode_gbps(), 0);
  EXPECT_GT(lm_head->candidates(), 1);
  if (lm_head->has_gemv_prefetch_bytes()) {  // one of the distances tried, never the default
    const auto& options = tuning::kF16LmHeadPrefetchOptions;
    EXPECT_NE(std::find(std::begin(options), std::end(options), lm_head->gemv_prefetch_bytes()),
              std::end(options));
    EXPECT_NE(lm_head->gemv_prefetch_bytes(), codegen::F16Gemv(256, isa).prefetch_bytes());
  }
  {  // A distance in the lm_head's entry reaches the kernel the model compiles.
    TuningEntry edited = *lm_head;
    edited.set_gemv_prefetch_bytes(3072);
    const std::string edited_path = dir.File("lm_head.textproto");
    tuning::MergeIntoTuningCacheFile(edited_path, {edited});
    setenv("BITJIT_TUNING_CACHE", edited_path.c_str(), 1);
    const testing::CliResult ir =
        testing::RunCli({"ir", "-m", TinyModel(), "--after", "weight-layout"});
    unsetenv("BITJIT_TUNING_CACHE");
    ASSERT_EQ(ir.exit_code, 0) << ir.err;
    EXPECT_NE(ir.out.find("F16Gemv_"), std::string::npos) << ir.out;
    EXPECT_NE(ir.out.find("_pf3072"), std::string::npos) << ir.out;
  }
  for (const auto& [k, n] : kTinyShapes) {
    const TuningEntry* e = tuning::FindEntry(cache, tuning::MakeKey(codegen::HostCpu(), isa, k, n));
    ASSERT_NE(e, nullptr) << k << "x" << n;
    EXPECT_GT(e->tile_rows(), 0);
    EXPECT_GT(e->tile_tokens(), 0);
    EXPECT_GT(e->decode_gbps(), 0);
    EXPECT_GT(e->prefill_gops(), 0);
    EXPECT_FALSE(e->tuned_at().empty());
    if (e->has_gemv_prefetch_bytes()) {  // one of the distances tried, never the default
      EXPECT_EQ(e->gemv_prefetch_bytes() % 512, 0) << e->gemv_prefetch_bytes();
      EXPECT_LE(e->gemv_prefetch_bytes(), 8192);
      EXPECT_NE(e->gemv_prefetch_bytes(),
                codegen::TernaryMatmul(
                    k, n, isa,
                    {e->tile_rows(), e->tile_tokens(),
                     e->packing().empty() ? codegen::TernaryPacking::k2Bit
                                          : codegen::ParseTernaryPacking(e->packing())})
                    .gemv_prefetch_bytes());
    }
  }

  const testing::CliResult show = testing::RunCli({"tune", "--show", "--tuning-cache", cache_path});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find(cache_path), std::string::npos);
  EXPECT_NE(show.out.find("n: 128"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("k: 512"), std::string::npos) << show.out;

  // Hand-edit one shape to a tile no default would give, then compile with this cache.
  const TernaryTile other = OtherTile(256, 128, isa);
  tuning::MergeIntoTuningCacheFile(cache_path, {Entry(codegen::HostCpu(), isa, 256, 128, other)});
  cache = tuning::ReadTuningCacheFile(cache_path);
  setenv("BITJIT_TUNING_CACHE", cache_path.c_str(), 1);  // compile reads the environment
  const testing::CliResult compile =
      testing::RunCli({"compile", "-m", TinyModel(), "-o", dir.File("tiny.plan")});
  unsetenv("BITJIT_TUNING_CACHE");
  ASSERT_EQ(compile.exit_code, 0) << compile.err;
  const plan::Plan p = ReadPlan(dir.File("tiny.plan"));
  ASSERT_GT(p.kernels_size(), 0);
  int tuned_shape = 0;
  for (const plan::TernaryKernel& k : p.kernels()) {
    SCOPED_TRACE(k.tensor());
    const TuningEntry* e =
        tuning::FindEntry(cache, tuning::MakeKey(codegen::HostCpu(), isa, k.k(), k.n()));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(k.tile_rows(), e->tile_rows());
    EXPECT_EQ(k.tile_tokens(), e->tile_tokens());
    // The plan keeps the entry's split across threads (the default where it has none).
    auto usable = [](int t) { return t >= 1 && t <= 64; };
    EXPECT_EQ(k.decode_tasks_per_thread(), usable(e->decode_tasks_per_thread())
                                               ? e->decode_tasks_per_thread()
                                               : kDefaultTasksPerThread);
    EXPECT_EQ(k.prefill_tasks_per_thread(), usable(e->prefill_tasks_per_thread())
                                                ? e->prefill_tasks_per_thread()
                                                : kDefaultTasksPerThread);
    if (k.k() == 256 && k.n() == 128) {
      EXPECT_EQ(k.tile_rows(), other.rows);
      ++tuned_shape;
    }
  }
  EXPECT_EQ(tuned_shape, 4) << "attn_k and attn_v of both layers";
}

TEST(TuneCommand, RefusesBadFlagsAndShowsAnEmptyCache) {
  testing::TempDir dir;
  const std::string cache_path = dir.File("none.textproto");
  testing::CliResult r = testing::RunCli({"tune", "--show", "--tuning-cache", cache_path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no entries"), std::string::npos) << r.out;
  r = testing::RunCli({"tune", "-m", TinyModel(), "--budget", "0", "--tuning-cache", cache_path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--budget"), std::string::npos) << r.err;
  WriteText(cache_path, "not { a cache");
  r = testing::RunCli({"tune", "--show", "--tuning-cache", cache_path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a bitjit tuning cache"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("none.textproto.lock")));
}

// Logits of the tiny golden case with tuned tiles (other rows, other token blocks, other row
// splits) are bit-identical to the defaults': the integer parts are exact and each output
// element is computed the same way whichever tile or task holds it.
TEST(TunedTiles, LeaveLogitsBitIdentical) {
  const testing::GoldenCase c = testing::LoadGoldenCase("tiny");
  testing::TempDir dir;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAvxVnni, Isa::kAvx512Amx}) {
    if (!codegen::IsaSupported(isa)) continue;
    SCOPED_TRACE(codegen::IsaName(isa));
    std::vector<TuningEntry> entries;
    for (const auto& [k, n] : kTinyShapes) {
      const TernaryTile other = OtherTile(k, n, isa);
      entries.push_back(Entry(codegen::HostCpu(), isa, k, n, {other.rows, 3}, 1));
      entries.back().set_gemv_prefetch_bytes(3072);  // a distance no default has
    }
    const std::string tuned = dir.File(std::string(codegen::IsaName(isa)) + ".textproto");
    tuning::MergeIntoTuningCacheFile(tuned, entries);

    auto logits = [&](const std::string& cache_path, const std::string& plan_path) {
      ScopedCachePath scoped(cache_path);
      ModelOptions options;
      options.isa = std::string(codegen::IsaName(isa));
      options.n_threads = 2;
      auto model = Model::Load(c.model_path, options);
      model->SavePlan(plan_path);  // to see which tiles it compiled
      int prefetching = 0;         // bitlinear steps whose GEMVs run the tuned distance
      for (const auto& e : model->schedule().entries())
        prefetching += e.step->kernel().find("_pf3072") != std::string::npos;
      EXPECT_EQ(prefetching > 0, cache_path == tuned) << codegen::IsaName(isa);
      Session s(*model, 64);
      std::vector<float> all, row;
      s.Eval(c.prompt_ids, /*all_rows=*/true, &all);  // prefill: the GEMM kernels
      for (size_t i = 0; i + 1 < c.greedy_ids.size(); ++i) {
        s.Eval(std::span(&c.greedy_ids[i], 1), false, &row);  // decode: the GEMV kernels
        all.insert(all.end(), row.begin(), row.end());
      }
      return all;
    };
    const std::vector<float> by_default = logits(dir.File("absent.textproto"), dir.File("d.plan"));
    const std::vector<float> by_tuned = logits(tuned, dir.File("t.plan"));
    const plan::Plan d = ReadPlan(dir.File("d.plan")), t = ReadPlan(dir.File("t.plan"));
    ASSERT_EQ(d.kernels_size(), t.kernels_size());
    for (int i = 0; i < d.kernels_size(); ++i) {
      EXPECT_EQ(d.kernels(i).tile_rows(), codegen::DefaultTernaryTile(isa).rows);
      EXPECT_NE(t.kernels(i).tile_rows(), d.kernels(i).tile_rows());
      EXPECT_EQ(t.kernels(i).tile_tokens(), 3);
    }
    ASSERT_EQ(by_default.size(), by_tuned.size());
    EXPECT_TRUE(by_default == by_tuned) << "tuned tiles changed the logits";
  }
}

}  // namespace
}  // namespace bitjit
