#include "runtime/plan/plan_cache.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "ir/base/cache_dir.h"
#include "ir/base/error.h"
#include "runtime/plan/sidecar_writer.h"
#include "runtime/tuning/tuning_cache.h"

namespace bitjit {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPlanName = "model.plan";

// FNV-1a 64 over a string: the key needs to tell entries apart, not to resist an attacker
// (each entry is validated when loaded).
uint64_t Fnv1a(const std::string& s, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// What identifies a file's contents for as long as nobody rewrites it: device, inode, size and
// modification time. Empty when it cannot be read.
std::string FileIdentity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

std::string EntryKey(const std::string& model_path, const ModelOptions& o) {
  std::string id = FileIdentity(model_path);
  if (id.empty()) return {};
  // Every option that changes what a plan holds, the tuning cache that picks tiles and packing
  // under "auto", and the running binary (its kernels and layouts).
  id += "|isa=" + o.isa + "|numerics=" + std::to_string(static_cast<int>(o.numerics)) +
        "|lm_head=" + o.lm_head + "|packing=" + o.ternary_packing +
        "|tuning=" + FileIdentity(tuning::TuningCachePath()) +
        "|exe=" + FileIdentity("/proc/self/exe");
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(Fnv1a(id)));
  return hex;
}

// The number of files in folder `e` when it is a real folder holding nothing but a plan and
// its sidecar (regular files), or with `unfinished`, also the temporary file a sidecar is
// written to before it is renamed (runtime/plan/sidecar_writer.h); -1 for anything else.
int PlanFilesIn(const fs::directory_entry& e, bool unfinished = false) {
  std::error_code ec;
  if (e.is_symlink(ec) || !e.is_directory(ec)) return -1;
  const std::string sidecar = std::string(kPlanName) + ".weights";
  int files = 0;
  for (const fs::directory_entry& f : fs::directory_iterator(e.path(), ec)) {
    const std::string file = f.path().filename().string();
    const bool ours =
        file == kPlanName || file == sidecar ||
        (unfinished && file.rfind(plan::SidecarWriter::TemporaryPrefix(sidecar), 0) == 0);
    if (!ours || !f.is_regular_file(ec) || f.is_symlink(ec)) {
      return -1;
    }
    ++files;
  }
  return ec ? -1 : files;
}

// True for a folder this cache made: named by a key, holding the plan and its sidecar and
// nothing else (the user may point --plan-cache at a folder that holds other things).
bool IsEntry(const fs::directory_entry& e) {
  const std::string name = e.path().filename().string();
  return name.size() == 16 && std::all_of(name.begin(), name.end(), ::isxdigit) &&
         PlanFilesIn(e) == 2;
}

// True for a temporary folder of ours that no writer has touched for an hour: a background
// writer that was killed (the machine went down) left it. Named as mkdtemp names ours, and
// holding nothing but what an entry holds, or a sidecar not yet renamed into place.
bool IsStaleTemporary(const fs::directory_entry& e) {
  const std::string name = e.path().filename().string();
  if (name.size() != 11 || name.rfind(".tmp-", 0) != 0 || PlanFilesIn(e, true) < 0) return false;
  std::error_code ec;
  const auto when = fs::last_write_time(e.path(), ec);
  return !ec && fs::file_time_type::clock::now() - when > std::chrono::hours(1);
}

// Removes the least recently used entries (by their plan's modification time, which a hit
// refreshes) until at most `keep` remain. Only folders named as entries are touched.
void Evict(const fs::path& dir, int keep) {
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (IsStaleTemporary(e)) {
      fs::remove_all(e.path(), ec);
      continue;
    }
    if (!IsEntry(e)) continue;
    const auto when = fs::last_write_time(e.path() / kPlanName, ec);
    entries.emplace_back(ec ? fs::file_time_type::min() : when, e.path());
  }
  if (static_cast<int>(entries.size()) <= keep) return;
  std::sort(entries.begin(), entries.end());
  for (size_t i = 0; i + keep < entries.size(); ++i) fs::remove_all(entries[i].second, ec);
}

// A fresh temporary folder in `dir` to write an entry in. Made by the caller, so that a folder
// that cannot be written is reported at once, also when the writing happens in the background.
fs::path MakeTemporaryFolder(const fs::path& dir) {
  std::string tmpl = (dir / ".tmp-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    Fail("cannot create a folder in ", dir.string(), ": ", std::strerror(errno));
  }
  return tmpl;
}

// Writes `model`'s plan in `tmp`, then renames `tmp` to `entry` (if another process got there
// first, its entry stays and ours is dropped). `tmp` is removed on failure.
void WriteEntry(const Model& model, const fs::path& tmp, const fs::path& entry) {
  try {
    model.SavePlan((tmp / kPlanName).string());
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  if (::rename(tmp.c_str(), entry.c_str()) != 0) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
  }
}

// Where a background writer leaves the reason it failed, for the next start to report (it has
// no terminal of its own) before writing in place instead.
constexpr const char* kWriteFailedName = ".background-write-failed";

// Opens `path` as a regular file only: never through a link, never blocking on a FIFO.
int OpenRegular(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  struct stat st {};
  if (fd >= 0 && (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The failure a background writer left in `dir` (its first line, at most 512 bytes), removing
// the note; empty when there is none. Only a regular file of that name is read or removed.
std::string TakeBackgroundFailure(const fs::path& dir) {
  const fs::path note = dir / kWriteFailedName;
  const int fd = OpenRegular(note, O_RDONLY);
  if (fd < 0) return {};
  char buf[512];
  const ssize_t got = ::read(fd, buf, sizeof buf);
  ::close(fd);
  std::error_code ec;
  fs::remove(note, ec);
  std::string line(buf, got > 0 ? static_cast<size_t>(got) : 0);
  line = line.substr(0, line.find_first_of("\r\n"));
  return line.empty() ? "no reason given" : line;
}

// The grandchild's own process state: default signal handling with nothing blocked (serve
// blocks SIGINT and SIGTERM for its own handler thread, and a writer must die of a plain
// kill), /dev/null for stdio, and none of the parent's other descriptors.
void DetachWriterProcess() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT}) ::signal(sig, SIG_DFL);
  ::setpriority(PRIO_PROCESS, 0, 10);
  const int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    for (int fd = 0; fd < 3; ++fd) ::dup2(null_fd, fd);
  }
  if (::close_range(3, ~0U, 0) != 0) {  // kernels before 5.9
    const long max_fd = std::min<long>(::sysconf(_SC_OPEN_MAX), 65536);
    for (int fd = 3; fd < max_fd; ++fd) ::close(fd);
  }
}

// Writes the entry (then evicts) in a detached grandchild process, so that the first token
// does not wait for a gigabyte to reach the disk. fork() hands the writer a copy-on-write
// snapshot of the loaded model: nothing is shared to race on, and the writer cannot outlive
// what it reads, whenever this process ends. The grandchild is reparented to init (nobody
// waits for it), runs in a session of its own (a Ctrl-C to this job does not cut the write
// short), at a lower priority; a failure is left in kWriteFailedName. False when it could not
// be started (then nothing else writes in `tmp`).
bool WriteEntryDetached(const Model& model, const fs::path& dir, const fs::path& tmp,
                        const fs::path& entry, int max_entries) {
  const pid_t child = ::fork();
  if (child < 0) return false;
  if (child == 0) {
    ::setsid();
    const pid_t writer = ::fork();
    if (writer != 0) ::_exit(writer < 0 ? 1 : 0);
    DetachWriterProcess();
    try {
      WriteEntry(model, tmp, entry);
      Evict(dir, max_entries);
    } catch (const std::exception& e) {
      const int fd = OpenRegular(dir / kWriteFailedName, O_WRONLY | O_CREAT | O_TRUNC);
      if (fd >= 0) {
        const std::string line = std::string(e.what()) + "\n";
        [[maybe_unused]] const ssize_t wrote = ::write(fd, line.data(), line.size());
        ::close(fd);
      }
      ::_exit(1);
    }
    ::_exit(0);
  }
  int status = 0;
  pid_t waited;
  while ((waited = ::waitpid(child, &status, 0)) < 0 && errno == EINTR) {
  }
  // ECHILD: this process ignores SIGCHLD (children are reaped unseen). The middle child has
  // ended; its writer most likely runs, so writing here too would share its folder.
  if (waited < 0) return true;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

std::string DefaultPlanCacheDir() {
  return (UserCacheDir() / "plans").string();
}

PlanCacheResult LoadThroughPlanCache(const std::string& model_path, const ModelOptions& options,
                                     const std::string& dir, int max_entries,
                                     uint64_t background_from_bytes) {
  PlanCacheResult result;
  const std::string key = options.isa == "ref" ? "" : EntryKey(model_path, options);
  if (key.empty()) {
    result.model = Model::Load(model_path, options);
    return result;
  }
  const fs::path entry = fs::path(dir) / key;
  const fs::path plan = entry / kPlanName;
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(entry, ec)) && fs::exists(plan, ec)) {
    try {
      ModelOptions from_plan = options;
      from_plan.lm_head = "";  // the entry's, which the key says is the one asked for
      from_plan.ternary_packing = "auto";
      result.model = Model::LoadPlan(plan.string(), from_plan, model_path);
      fs::last_write_time(plan, fs::file_time_type::clock::now(), ec);  // recently used
      return result;
    } catch (const Error& e) {
      result.note = "plan cache: " + entry.string() + " did not load (" + e.what() +
                    "); compiling the model again";
      fs::remove_all(entry, ec);
    }
  }
  result.model = Model::Load(model_path, options);
  try {
    if (fs::create_directories(dir)) ::chmod(dir.c_str(), 0700);  // only a folder we made
    const fs::path tmp = MakeTemporaryFolder(dir);
    const uint64_t model_bytes = fs::file_size(model_path, ec);
    // In place after a background failure (so that its reason is seen, and the next one too),
    // and as PID 1 (a container's init that never reaps would keep every writer a zombie).
    const std::string failed = TakeBackgroundFailure(dir);
    if (!failed.empty()) {
      result.note =
          "plan cache: the last background write failed (" + failed + "); writing in place";
    }
    const bool background = failed.empty() && ::getpid() != 1 && !ec &&
                            model_bytes >= background_from_bytes &&
                            WriteEntryDetached(*result.model, dir, tmp, entry, max_entries);
    if (!background) {
      WriteEntry(*result.model, tmp, entry);
      Evict(dir, max_entries);
    }
    if (result.note.empty()) {
      result.note = "plan cache: compiled " + model_path + (background ? "; writing " : " into ") +
                    entry.string() + (background ? " in the background" : "") +
                    "; the next start maps it (--plan-cache off: no cache)";
    }
  } catch (const std::exception& e) {
    result.note =
        std::string("plan cache: could not save the plan (") + e.what() + "); running without it";
  }
  return result;
}

}  // namespace bitjit
