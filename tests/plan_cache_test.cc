// The plan cache (runtime/plan/plan_cache.h) through the CLI: the first load of a model writes
// an entry, the next one maps it, and both compute exactly what a load without the cache
// computes; a changed model file gets an entry of its own, a damaged entry is replaced, the
// least recently used entries beyond four go, and nothing in the folder that is not an entry of
// ours is touched.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/model.h"
#include "runtime/plan/plan_cache.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::RunCli;

// The logits of a prompt and three fed tokens, through `bitjit eval` with the given flags.
std::vector<float> EvalLogits(const std::string& model, const std::vector<std::string>& flags,
                              const std::string& out, CliResult* result = nullptr) {
  std::vector<std::string> args = {
      "eval", "-m", model, "--prompt-ids", "1,5,9,2", "--feed-ids", "7,3,11", "--logits-out", out};
  args.insert(args.end(), flags.begin(), flags.end());
  const CliResult r = RunCli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (result) *result = r;
  return testing::ReadF32File(out);
}

// The cache's entries: folders named by a 16-digit key.
std::vector<fs::path> Entries(const std::string& dir) {
  std::vector<fs::path> entries;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory() && e.path().filename().string().size() == 16) entries.push_back(e.path());
  }
  return entries;
}

class PlanCache : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy_file(testing::GoldenModelPath("tiny"), model_);
    want_ = EvalLogits(model_, {"--plan-cache", "off"}, dir_.File("want.f32"));
    ASSERT_FALSE(want_.empty());
  }
  std::vector<float> Cached(CliResult* r = nullptr, std::vector<std::string> more = {}) {
    std::vector<std::string> flags = {"--plan-cache", cache_};
    flags.insert(flags.end(), more.begin(), more.end());
    return EvalLogits(model_, flags, dir_.File("got.f32"), r);
  }

  testing::TempDir dir_;
  const std::string model_ = dir_.File("model.gguf");
  const std::string cache_ = dir_.File("cache");
  std::vector<float> want_;
};

TEST_F(PlanCache, SecondLoadMapsTheEntryAndComputesTheSame) {
  CliResult first, second;
  EXPECT_EQ(Cached(&first), want_);
  EXPECT_NE(first.err.find("plan cache: compiled"), std::string::npos) << first.err;
  ASSERT_EQ(Entries(cache_).size(), 1u);
  const fs::path entry = Entries(cache_)[0];
  EXPECT_TRUE(fs::is_regular_file(entry / "model.plan"));
  EXPECT_TRUE(fs::is_regular_file(entry / "model.plan.weights"));

  EXPECT_EQ(Cached(&second), want_);
  EXPECT_EQ(second.err.find("plan cache"), std::string::npos) << second.err;  // a plain hit
  EXPECT_EQ(Entries(cache_).size(), 1u);
  // Mapped instead of copied: the same.
  EXPECT_EQ(Cached(nullptr, {"--mmap"}), want_);
}

TEST_F(PlanCache, ChangedModelFileGetsAnEntryOfItsOwn) {
  EXPECT_EQ(Cached(), want_);
  // Rewritten in place (same bytes, a new modification time): its old entry no longer names it.
  const fs::path model = model_;
  fs::last_write_time(model, fs::last_write_time(model) + std::chrono::seconds(5));
  EXPECT_EQ(Cached(), want_);
  EXPECT_EQ(Entries(cache_).size(), 2u);
}

TEST_F(PlanCache, DamagedEntryIsReplaced) {
  EXPECT_EQ(Cached(), want_);
  ASSERT_EQ(Entries(cache_).size(), 1u);
  const fs::path sidecar = Entries(cache_)[0] / "model.plan.weights";
  fs::resize_file(sidecar, fs::file_size(sidecar) / 2);
  CliResult r;
  EXPECT_EQ(Cached(&r), want_);
  EXPECT_NE(r.err.find("did not load"), std::string::npos) << r.err;
  EXPECT_EQ(Cached(&r), want_);
  EXPECT_EQ(r.err.find("plan cache"), std::string::npos) << r.err;
}

TEST_F(PlanCache, KeepsFourEntriesAndNothingElseIsTouched) {
  // Things in the folder that are not entries of ours: a folder named like a key holding
  // something else, a link named like a key, a file.
  fs::create_directories(cache_ + "/0123456789abcdef");
  std::ofstream(cache_ + "/0123456789abcdef/notes.txt") << "mine";
  fs::create_directory_symlink(dir_.path(), cache_ + "/fedcba9876543210");
  std::ofstream(cache_ + "/README") << "mine";
  for (const char* head : {"f16", "q8_0", "q6_k"}) {
    for (const char* packing : {"2bit", "auto"}) {
      EXPECT_FALSE(Cached(nullptr, {"--lm-head", head, "--ternary-packing", packing}).empty());
    }
  }
  int ours = 0;
  for (const fs::path& e : Entries(cache_)) ours += fs::exists(e / "model.plan");
  EXPECT_EQ(ours, 4);
  EXPECT_TRUE(fs::exists(cache_ + "/0123456789abcdef/notes.txt"));
  EXPECT_TRUE(fs::is_symlink(cache_ + "/fedcba9876543210"));
  EXPECT_TRUE(fs::exists(dir_.File("model.gguf")));  // what the link points into
  EXPECT_TRUE(fs::exists(cache_ + "/README"));
}

TEST_F(PlanCache, FolderThatCannotBeWrittenOnlyCostsTheCache) {
  std::ofstream(cache_) << "a file, not a folder";
  CliResult r;
  EXPECT_EQ(Cached(&r), want_);
  EXPECT_NE(r.err.find("could not save the plan"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// A large model's entry is written by a detached process (here forced for the tiny one): the
// load returns with the model and says so, the entry appears whole, and the next start maps it.
TEST_F(PlanCache, BackgroundWriterLeavesAWholeEntry) {
  ModelOptions options;  // as the CLI's defaults: the best ISA here, the model's f16 lm_head
  options.lm_head = "f16";
  options.ternary_packing = "auto";
  PlanCacheResult r = LoadThroughPlanCache(model_, options, cache_, 4, /*background_from_bytes=*/0);
  ASSERT_NE(r.model, nullptr);
  EXPECT_NE(r.note.find("in the background"), std::string::npos) << r.note;
  // The writer runs on its own; wait (bounded) until the entry has been renamed into place.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (Entries(cache_).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(Entries(cache_).size(), 1u) << "the background writer left no entry";
  const fs::path entry = Entries(cache_)[0];
  EXPECT_TRUE(fs::is_regular_file(entry / "model.plan"));
  EXPECT_TRUE(fs::is_regular_file(entry / "model.plan.weights"));
  // The next load in this binary (the key names the binary) maps the entry and computes the
  // same logits as the model it was written from.
  PlanCacheResult hit = LoadThroughPlanCache(model_, options, cache_, 4, 0);
  ASSERT_NE(hit.model, nullptr);
  EXPECT_TRUE(hit.note.empty()) << hit.note;  // a plain hit
  auto logits = [](const Model& m) {
    Session s(m, 16);
    const std::vector<int32_t> prompt = {1, 5, 9, 2};
    std::vector<float> out;
    s.Eval(prompt, /*all_rows=*/true, &out);
    return out;
  };
  EXPECT_EQ(logits(*hit.model), logits(*r.model));
}

// A failure a background writer left is reported by the next start, which then writes in place
// (so that its own failure would be seen); a link of that name is neither read nor removed.
TEST_F(PlanCache, BackgroundFailureIsReportedAndTheNextWriteIsInPlace) {
  ModelOptions options;
  options.lm_head = "f16";
  options.ternary_packing = "auto";
  fs::create_directories(cache_);
  std::ofstream(dir_.File("elsewhere")) << "not ours\n";
  fs::create_symlink(dir_.File("elsewhere"), cache_ + "/.background-write-failed");
  PlanCacheResult r = LoadThroughPlanCache(model_, options, cache_, 4, 0);
  EXPECT_EQ(r.note.find("failed"), std::string::npos) << r.note;
  EXPECT_TRUE(fs::is_symlink(cache_ + "/.background-write-failed"));
  fs::remove(cache_ + "/.background-write-failed");
  // Wait for that writer, then remove its entry: the next start misses again.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (Entries(cache_).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (const fs::path& e : Entries(cache_)) fs::remove_all(e);

  std::ofstream(cache_ + "/.background-write-failed") << "No space left on device\nmore\n";
  r = LoadThroughPlanCache(model_, options, cache_, 4, 0);
  EXPECT_NE(r.note.find("the last background write failed (No space left on device); writing "
                        "in place"),
            std::string::npos)
      << r.note;
  EXPECT_EQ(Entries(cache_).size(), 1u) << "written before the load returned";
  EXPECT_FALSE(fs::exists(cache_ + "/.background-write-failed"));
  EXPECT_EQ(std::ifstream(dir_.File("elsewhere")).get(), 'n');
}

// A temporary folder a killed writer left an hour ago goes with the next write; a fresh one (a
// writer still at work) and one holding something else stay.
TEST_F(PlanCache, StaleTemporaryFoldersOfOursGo) {
  fs::create_directories(cache_ + "/.tmp-aaaaaa");
  std::ofstream(cache_ + "/.tmp-aaaaaa/model.plan") << "half";
  fs::last_write_time(cache_ + "/.tmp-aaaaaa",
                      fs::file_time_type::clock::now() - std::chrono::hours(2));
  fs::create_directories(cache_ + "/.tmp-bbbbbb");
  std::ofstream(cache_ + "/.tmp-bbbbbb/model.plan") << "in progress";
  // Killed while writing its sidecar: only the temporary file a rename would have finished.
  fs::create_directories(cache_ + "/.tmp-dddddd");
  std::ofstream(cache_ + "/.tmp-dddddd/model.plan.weights.tmp-123-456") << "half a sidecar";
  fs::last_write_time(cache_ + "/.tmp-dddddd",
                      fs::file_time_type::clock::now() - std::chrono::hours(2));
  fs::create_directories(cache_ + "/.tmp-cccccc");
  std::ofstream(cache_ + "/.tmp-cccccc/notes.txt") << "mine";
  fs::last_write_time(cache_ + "/.tmp-cccccc",
                      fs::file_time_type::clock::now() - std::chrono::hours(2));
  EXPECT_EQ(Cached(), want_);
  EXPECT_FALSE(fs::exists(cache_ + "/.tmp-aaaaaa"));
  EXPECT_FALSE(fs::exists(cache_ + "/.tmp-dddddd"));
  EXPECT_TRUE(fs::exists(cache_ + "/.tmp-bbbbbb/model.plan"));
  EXPECT_TRUE(fs::exists(cache_ + "/.tmp-cccccc/notes.txt"));
}

// The reference interpreter makes no plan: nothing is cached, nothing is said.
TEST_F(PlanCache, ReferencePathBypassesIt) {
  CliResult r;
  EXPECT_FALSE(Cached(&r, {"--isa", "ref"}).empty());
  EXPECT_EQ(r.err.find("plan cache"), std::string::npos) << r.err;
  EXPECT_TRUE(Entries(cache_).empty());
}

}  // namespace
}  // namespace bitjit
