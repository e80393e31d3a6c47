#include "runtime/tuning/tuning_cache.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "ir/base/cache_dir.h"
#include "ir/base/error.h"
#include "ir/base/output_path.h"

namespace bitjit::tuning {
namespace {

namespace fs = std::filesystem;

// Keeps the first parse error (with its position) for the exception message, instead of
// protobuf's own log line.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!message_.empty()) return;
    message_ =
        "line " + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
  }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) Fail("cannot write ", path, ": ", std::strerror(errno));
    done += static_cast<size_t>(w);
  }
}

// Writes `text` to a temporary file next to `path` and renames it over `path`: readers see the
// old file or the new one, never a half-written one.
void ReplaceFileAtomically(const std::string& path, const std::string& text) {
  CheckOutputPath(path);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    Fd out{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (out.fd < 0) Fail("cannot create ", tmp, ": ", std::strerror(errno));
    try {
      WriteAll(out.fd, text, tmp);
      if (::fsync(out.fd) != 0) Fail("cannot sync ", tmp, ": ", std::strerror(errno));
    } catch (...) {
      ::unlink(tmp.c_str());
      throw;
    }
  }
  try {
    CheckOutputPath(path);  // again, right before the rename
  } catch (const Error&) {
    ::unlink(tmp.c_str());
    throw;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    Fail("cannot replace ", path, ": ", std::strerror(err));
  }
}

std::string DefaultTuningCachePath() {
  return (UserCacheDir() / "tuning.textproto").string();
}

// The process-wide state: an optional path override and the cache loaded from the path.
struct ProcessState {
  std::mutex mu;       // guards the fields below
  std::mutex load_mu;  // held while reading the file, so that it is read once
  std::string override_path;
  std::shared_ptr<const TuningCache> loaded;
  uint64_t generation = 0;  // bumped by SetTuningCachePath: a read of the old path is stale
};

ProcessState& State() {
  static ProcessState* state = new ProcessState();  // never destroyed: usable at exit
  return *state;
}

}  // namespace

TuningEntry MakeKey(const codegen::CpuIdentity& cpu, codegen::Isa isa, int64_t k, int64_t n) {
  TuningEntry e;
  e.set_cpu_vendor(cpu.vendor);
  e.set_cpu_family(cpu.family);
  e.set_cpu_model(cpu.model);
  e.set_isa(std::string(codegen::IsaName(isa)));
  e.set_k(k);
  e.set_n(n);
  return e;
}

bool SameKey(const TuningEntry& a, const TuningEntry& b) {
  return a.cpu_vendor() == b.cpu_vendor() && a.cpu_family() == b.cpu_family() &&
         a.cpu_model() == b.cpu_model() && a.isa() == b.isa() && a.k() == b.k() && a.n() == b.n();
}

const TuningEntry* FindEntry(const TuningCache& cache, const TuningEntry& key) {
  for (const TuningEntry& e : cache.entries())
    if (SameKey(e, key)) return &e;
  return nullptr;
}

void MergeEntries(TuningCache* cache, const std::vector<TuningEntry>& updates) {
  for (const TuningEntry& u : updates) {
    bool replaced = false;
    for (TuningEntry& e : *cache->mutable_entries()) {
      if (SameKey(e, u)) {
        e = u;
        replaced = true;
        break;
      }
    }
    if (!replaced) *cache->add_entries() = u;
  }
}

TuningCache ParseTuningCache(const std::string& text, const std::string& origin) {
  TuningCache cache;
  google::protobuf::TextFormat::Parser parser;
  FirstError errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &cache)) {
    Fail(origin, ": not a bitjit tuning cache (", errors.message(), ")");
  }
  if (cache.format_version() != kTuningFormatVersion) {
    Fail(origin, ": tuning cache format_version ", cache.format_version(), " is not ",
         kTuningFormatVersion);
  }
  return cache;
}

std::string FormatTuningCache(const TuningCache& cache) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(cache, &text);
  return "# bitjit tuning cache (runtime/tuning/tuning.proto), written by `bitjit tune`.\n"
         "# Entries apply to the CPU kind (vendor, family, model) they were measured on.\n" +
         text;
}

TuningCache ReadTuningCacheFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      TuningCache empty;
      empty.set_format_version(kTuningFormatVersion);
      return empty;
    }
    Fail("cannot read ", path, ": ", std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) Fail("cannot read ", path, ": ", std::strerror(errno));
  return ParseTuningCache(text.str(), path);
}

TuningCache ReadTuningCacheOrEmpty(const std::string& path) {
  try {
    return ReadTuningCacheFile(path);
  } catch (const Error& e) {
    LOG(WARNING) << e.what() << "; using default kernel tiles (run `bitjit tune` to rewrite it)";
  }
  TuningCache empty;
  empty.set_format_version(kTuningFormatVersion);
  return empty;
}

void MergeIntoTuningCacheFile(const std::string& path, const std::vector<TuningEntry>& updates) {
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) Fail("cannot create ", parent.string(), ": ", ec.message());
  CheckOutputPath(path);
  const std::string lock_path = path + ".lock";
  // O_NOFOLLOW: a symlink planted as the lock file must not make us create its target.
  Fd lock{::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)};
  if (lock.fd < 0) Fail("cannot open ", lock_path, ": ", std::strerror(errno));
  while (::flock(lock.fd, LOCK_EX) != 0) {
    if (errno != EINTR) Fail("cannot lock ", lock_path, ": ", std::strerror(errno));
  }
  TuningCache cache;
  try {
    cache = ReadTuningCacheFile(path);
  } catch (const Error& e) {
    LOG(WARNING) << e.what() << "; replacing it";
    cache.Clear();
  }
  cache.set_format_version(kTuningFormatVersion);
  MergeEntries(&cache, updates);
  ReplaceFileAtomically(path, FormatTuningCache(cache));
}  // the lock is released when `lock` closes

std::string TuningCachePath() {
  {
    ProcessState& s = State();
    std::lock_guard<std::mutex> hold(s.mu);
    if (!s.override_path.empty()) return s.override_path;
  }
  const char* env = std::getenv("BITJIT_TUNING_CACHE");
  if (env && *env) return env;
  return DefaultTuningCachePath();
}

void SetTuningCachePath(const std::string& path) {
  ProcessState& s = State();
  std::lock_guard<std::mutex> hold(s.mu);
  s.override_path = path;
  s.loaded.reset();
  ++s.generation;
}

std::shared_ptr<const TuningCache> ProcessTuningCache() {
  ProcessState& s = State();
  {
    std::lock_guard<std::mutex> hold(s.mu);
    if (s.loaded) return s.loaded;
  }
  std::lock_guard<std::mutex> loading(s.load_mu);
  uint64_t generation;
  {
    std::lock_guard<std::mutex> hold(s.mu);
    if (s.loaded) return s.loaded;  // another thread read it while we waited
    generation = s.generation;
  }
  auto cache = std::make_shared<const TuningCache>(ReadTuningCacheOrEmpty(TuningCachePath()));
  std::lock_guard<std::mutex> hold(s.mu);
  if (s.generation == generation) s.loaded = cache;
  return cache;
}

}  // namespace bitjit::tuning
