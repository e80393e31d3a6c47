// What bitjit writes and reads by a user-given path: outputs (synth -o, compile -o and its
// sidecar, tune --tuning-cache) are created or replaced only where a regular file or nothing is
// (a symlink, FIFO or directory there is refused and left as it was), and prompt files (-f) are
// refused when they are directories or have no end.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ir/base/error.h"
#include "ir/base/output_path.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

using testing::RunCli;

std::string Tiny() {
  return testing::SharedDir() + "/golden/tiny/model.gguf";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t LinkMode(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_mode : 0;
}

void ExpectOneLineError(const testing::CliResult& r, const std::string& part) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// A folder with a file `target` and, at `out`, a symlink to it, a FIFO or a directory.
struct Obstacles {
  testing::TempDir dir;
  std::string target = dir.File("target");
  Obstacles() { std::ofstream(target) << "keep me"; }
  std::string Symlink(const std::string& name) {
    EXPECT_EQ(::symlink(target.c_str(), dir.File(name).c_str()), 0);
    return dir.File(name);
  }
  std::string Fifo(const std::string& name) {
    EXPECT_EQ(::mkfifo(dir.File(name).c_str(), 0644), 0);
    return dir.File(name);
  }
  std::string Directory(const std::string& name) {
    EXPECT_EQ(::mkdir(dir.File(name).c_str(), 0755), 0);
    return dir.File(name);
  }
  void ExpectUntouched() { EXPECT_EQ(ReadAll(target), "keep me"); }
};

TEST(CheckOutputPath, AcceptsNewPathsAndRegularFilesOnly) {
  Obstacles o;
  EXPECT_NO_THROW(CheckOutputPath(o.dir.File("new")));
  EXPECT_NO_THROW(CheckOutputPath(o.target));
  EXPECT_THROW(CheckOutputPath(o.Symlink("link")), Error);
  EXPECT_THROW(CheckOutputPath(o.Fifo("fifo")), Error);
  EXPECT_THROW(CheckOutputPath(o.Directory("dir")), Error);
  EXPECT_THROW(CheckOutputPath("/dev/null"), Error);
  EXPECT_THROW(CheckOutputPath(o.target + "/below-a-file"), Error);
}

TEST(OutputPaths, SynthRefusesLinksFifosAndDirectories) {
  Obstacles o;
  const std::string link = o.Symlink("link.gguf"), fifo = o.Fifo("fifo.gguf"),
                    dir = o.Directory("dir.gguf");
  ExpectOneLineError(RunCli({"synth", "--preset", "tiny", "-o", link}), "a symbolic link");
  ExpectOneLineError(RunCli({"synth", "--preset", "tiny", "-o", fifo}), "a FIFO");
  ExpectOneLineError(RunCli({"synth", "--preset", "tiny", "-o", dir}), "a directory");
  EXPECT_TRUE(S_ISLNK(LinkMode(link)));
  EXPECT_TRUE(S_ISFIFO(LinkMode(fifo)));
  EXPECT_TRUE(S_ISDIR(LinkMode(dir)));
  o.ExpectUntouched();
  // Nothing half-written is left next to them.
  for (const auto& entry : std::filesystem::directory_iterator(o.dir.path())) {
    EXPECT_EQ(entry.path().string().find(".partial"), std::string::npos) << entry.path();
  }
  const testing::CliResult fine = RunCli({"synth", "--preset", "tiny", "-o", o.dir.File("ok")});
  EXPECT_EQ(fine.exit_code, 0) << fine.err;
}

// The plan and its sidecar are truncated in place: a symlink at either would have its target
// overwritten. (No FIFO here: opening one to write blocks until a reader comes.)
TEST(OutputPaths, CompileRefusesALinkAsPlanOrSidecar) {
  Obstacles o;
  const std::string plan = o.Symlink("a.plan");
  ExpectOneLineError(RunCli({"compile", "-m", Tiny(), "-o", plan}), "a symbolic link");
  EXPECT_TRUE(S_ISLNK(LinkMode(plan)));
  const std::string other = o.dir.File("b.plan");
  o.Symlink("b.plan.weights");
  ExpectOneLineError(RunCli({"compile", "-m", Tiny(), "-o", other}), "b.plan.weights");
  o.ExpectUntouched();
}

TEST(OutputPaths, TuneRefusesALinkOrDirectoryAsCacheBeforeMeasuring) {
  Obstacles o;
  const std::string link = o.Symlink("tuning.textproto");
  ExpectOneLineError(
      RunCli({"tune", "-m", Tiny(), "--budget", "1", "--quiet", "--tuning-cache", link}),
      "a symbolic link");
  EXPECT_TRUE(S_ISLNK(LinkMode(link)));
  const std::string dir = o.Directory("tuning-dir");
  ExpectOneLineError(
      RunCli({"tune", "-m", Tiny(), "--budget", "1", "--quiet", "--tuning-cache", dir}),
      "a directory");
  o.ExpectUntouched();
}

// --logits-out (run, eval) goes through the same check, before anything is computed.
TEST(OutputPaths, LogitsOutRefusesALinkOrFifo) {
  Obstacles o;
  const std::string link = o.Symlink("link.f32"), fifo = o.Fifo("fifo.f32");
  ExpectOneLineError(RunCli({"run", "-m", Tiny(), "-p", "Hi", "-n", "2", "--logits-out", link}),
                     "a symbolic link");
  ExpectOneLineError(RunCli({"eval", "-m", Tiny(), "--prompt-ids", "1,2", "--logits-out", fifo}),
                     "a FIFO");
  EXPECT_TRUE(S_ISLNK(LinkMode(link)));
  EXPECT_TRUE(S_ISFIFO(LinkMode(fifo)));
  o.ExpectUntouched();
  const testing::CliResult fine =
      RunCli({"run", "-m", Tiny(), "-p", "Hi", "-n", "2", "--logits-out", o.dir.File("ok.f32")});
  EXPECT_EQ(fine.exit_code, 0) << fine.err;
}

TEST(PromptFiles, DirectoryIsRefusedNotAnEmptyPrompt) {
  testing::TempDir dir;
  ExpectOneLineError(RunCli({"run", "-m", Tiny(), "-f", dir.path(), "-n", "1"}), "is a directory");
}

// /dev/zero never ends: it used to be read until memory ran out.
TEST(PromptFiles, EndlessFileStopsAtTheCap) {
  ExpectOneLineError(RunCli({"run", "-m", Tiny(), "-f", "/dev/zero", "-n", "1"}),
                     "/dev/zero is larger than 256 MiB");
  ExpectOneLineError(RunCli({"perplexity", "-m", Tiny(), "-f", "/dev/zero"}),
                     "/dev/zero is larger than 256 MiB");
}

}  // namespace
}  // namespace bitjit
