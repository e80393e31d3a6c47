#include "runtime/tuning/tuning_cache.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
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

std::string Position(int line, google::protobuf::io::ColumnNumber column) {
  return "line " + std::to_string(line + 1) + ":" + std::to_string(column + 1);
}

// Keeps the first parse error (with its position) for the exception message, instead of
// protobuf's own log line, and the first field this build does not know (the parser reports
// skipping one as a warning).
class ParseProblems : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (error_.empty()) error_ = Position(line, column) + ": " + message;
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    if (unknown_field_.empty()) unknown_field_ = Position(line, column) + ": " + message;
  }
  const std::string& error() const { return error_; }
  const std::string& unknown_field() const { return unknown_field_; }

 private:
  std::string error_;
  std::string unknown_field_;
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

// The deepest nesting of { } and < > in text-format `text`, outside strings and # comments.
// Protobuf skips an unknown field's message value by recursion without a depth limit, so a
// hostile file nested a few hundred thousand deep would overflow the stack: it is refused here.
int MaxNesting(const std::string& text) {
  int depth = 0, deepest = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      for (++i; i < text.size() && text[i] != c && text[i] != '\n'; ++i)
        if (text[i] == '\\') ++i;
    } else if (c == '{' || c == '<') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == '>') {
      --depth;
    }
  }
  return deepest;
}

// Entries are one level below the file and hold flat fields: more than this is no cache of ours.
constexpr int kMaxNesting = 16;

// Rewriting a file that has fields this build does not know would silently drop them.
[[noreturn]] void FailNewerTuningCache(const std::string& path, const std::string& unknown_field) {
  Fail(path, " has a field this bitjit does not know (", unknown_field,
       "): a newer bitjit wrote it, and rewriting it here would drop that field; tune with the "
       "newer bitjit, or pass --tuning-cache to write another file");
}

}  // namespace

TuningEntry MakeKey(const codegen::CpuIdentity& cpu, codegen::Isa isa, int64_t k, int64_t n,
                    const std::string& kernel) {
  TuningEntry e;
  e.set_kernel(kernel);
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
         a.cpu_model() == b.cpu_model() && a.isa() == b.isa() && a.kernel() == b.kernel() &&
         a.k() == b.k() && a.n() == b.n();
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

TuningCache ParseTuningCache(const std::string& text, const std::string& origin,
                             std::string* unknown_field) {
  TuningCache cache;
  google::protobuf::TextFormat::Parser parser;
  // A newer bitjit may have added fields (as gemv_prefetch_bytes was added): this build uses the
  // ones it knows rather than throwing away every measurement in the file.
  parser.AllowUnknownField(true);
  if (MaxNesting(text) > kMaxNesting) {
    Fail(origin, ": not a bitjit tuning cache (messages nested more than ", kMaxNesting, " deep)");
  }
  ParseProblems problems;
  parser.RecordErrorsTo(&problems);
  if (!parser.ParseFromString(text, &cache)) {
    Fail(origin, ": not a bitjit tuning cache (", problems.error(), ")");
  }
  if (cache.format_version() != kTuningFormatVersion) {
    Fail(origin, ": tuning cache format_version ", cache.format_version(), " is not ",
         kTuningFormatVersion);
  }
  if (unknown_field) {
    *unknown_field = problems.unknown_field();
  } else if (!problems.unknown_field().empty()) {
    LOG(WARNING) << origin << ": " << problems.unknown_field()
                 << " (written by a newer bitjit?): using the fields this one knows";
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

TuningCache ReadTuningCacheFile(const std::string& path, std::string* unknown_field) {
  if (unknown_field) unknown_field->clear();
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
  return ParseTuningCache(text.str(), path, unknown_field);
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

void CheckTuningCacheRewritable(const std::string& path) {
  CheckOutputPath(path);
  std::string unknown_field;
  try {
    ReadTuningCacheFile(path, &unknown_field);
  } catch (const Error&) {
    return;  // damaged: tuning replaces it (with a warning)
  }
  if (!unknown_field.empty()) FailNewerTuningCache(path, unknown_field);
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
  std::string unknown_field;
  try {
    cache = ReadTuningCacheFile(path, &unknown_field);
  } catch (const Error& e) {
    LOG(WARNING) << e.what() << "; replacing it";
    cache.Clear();
  }
  if (!unknown_field.empty()) FailNewerTuningCache(path, unknown_field);
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
