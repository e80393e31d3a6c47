// bitjit pull: downloads a model file from a Hugging Face repository (or any server with the
// same /REPO/resolve/main/FILE layout), resumable, size- and checksum-verified, saved under its
// final name only once complete, then identified with our GGUF reader.
#include <gflags/gflags.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "frontend/download/sha256.h"
#include "frontend/gguf/gguf_file.h"
#include "frontend/model/model_config.h"
#include "ir/base/error.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/http_download.h"
#include "tools/progress_bar.h"

DEFINE_string(file, "ggml-model-i2_s.gguf", "file to download from the repository");
DEFINE_string(dir, "models", "folder to save it in");
DEFINE_string(endpoint, "", "server to download from (default: $HF_ENDPOINT, else huggingface.co)");

namespace bitjit::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kDefaultEndpoint[] = "https://huggingface.co";

// A repository id or file name is a relative path that stays inside the repository (and,
// for the file, inside --dir).
void CheckRelativePath(const std::string& path, const char* what) {
  if (path.empty() || path.front() == '/') Fail(what, " '", path, "' must be a relative path");
  for (const auto& part : fs::path(path)) {
    if (part == ".." || part == ".") Fail(what, " '", path, "' must not contain '.' or '..'");
  }
  for (unsigned char ch : path) {
    if (ch < 0x20 || ch == 0x7f) Fail(what, " '", path, "' contains a control character");
  }
}

// Percent-encodes a URL path, keeping '/' and RFC 3986's unreserved characters.
std::string EscapePath(const std::string& path) {
  std::string out;
  for (unsigned char ch : path) {
    if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == '/') {
      out += static_cast<char>(ch);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", ch);
      out += hex;
    }
  }
  return out;
}

std::string Endpoint() {
  std::string endpoint = FLAGS_endpoint;
  if (endpoint.empty()) {
    const char* env = std::getenv("HF_ENDPOINT");
    endpoint = env && *env ? env : kDefaultEndpoint;
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

std::string HumanBytes(uint64_t bytes) {
  char text[32];
  if (bytes >= (uint64_t{1} << 30)) {
    std::snprintf(text, sizeof text, "%.2f GiB", bytes / double(uint64_t{1} << 30));
  } else if (bytes >= (uint64_t{1} << 20)) {
    std::snprintf(text, sizeof text, "%.1f MiB", bytes / double(uint64_t{1} << 20));
  } else {
    std::snprintf(text, sizeof text, "%llu bytes", static_cast<unsigned long long>(bytes));
  }
  return text;
}

// Identifies a saved .gguf with our reader. Throws when it is not a readable GGUF.
void Describe(const std::string& path, const std::string& verified) {
  std::printf("%s: %s", path.c_str(), HumanBytes(fs::file_size(path)).c_str());
  if (path.size() < 5 || path.substr(path.size() - 5) != ".gguf") {
    std::printf("%s\n", verified.c_str());
    return;
  }
  std::unique_ptr<gguf::GgufFile> file;
  try {
    file = gguf::GgufFile::Open(path);
  } catch (const Error& e) {
    Fail("saved ", path, ", but it is not a GGUF file bitjit can read: ", e.what());
  }
  std::printf(", GGUF v%u, %zu tensors, %zu keys%s\n", file->version(), file->tensors().size(),
              file->kvs().size(), verified.c_str());
  try {
    const ModelConfig c = ModelConfig::FromGguf(*file);
    std::printf(
        "model: %s%s%s, %lld layers, n_embd %lld, n_ff %lld, %lld heads (%lld KV), vocab "
        "%lld, context %lld\n",
        c.arch.c_str(), c.name.empty() ? "" : " ", c.name.c_str(),
        static_cast<long long>(c.n_layer), static_cast<long long>(c.n_embd),
        static_cast<long long>(c.n_ff), static_cast<long long>(c.n_head),
        static_cast<long long>(c.n_head_kv), static_cast<long long>(c.n_vocab),
        static_cast<long long>(c.n_ctx_train));
  } catch (const Error& e) {
    // A valid GGUF of another kind (another architecture, a tokenizer-only file) is still a
    // successful download; say why bitjit will not run it.
    std::printf("not a model bitjit runs: %s\n", e.what());
  }
}

int Pull(const Args& args) {
  if (args.positional.size() != 1) {
    Fail("pull needs one repository, e.g. bitjit pull microsoft/BitNet-b1.58-2B-4T-gguf");
  }
  const std::string& repo = args.positional[0];
  CheckRelativePath(repo, "repository");
  CheckRelativePath(FLAGS_file, "--file");
  const std::string url =
      Endpoint() + "/" + EscapePath(repo) + "/resolve/main/" + EscapePath(FLAGS_file);
  const fs::path final_path = fs::path(FLAGS_dir) / FLAGS_file;
  const std::string part_path = final_path.string() + ".part";
  if (fs::exists(final_path)) {
    if (!FLAGS_quiet) {
      std::fprintf(stderr,
                   "%s is already there; not downloading it again (delete it to download anew)\n",
                   final_path.c_str());
    }
    Describe(final_path.string(), "");
    return 0;
  }
  std::error_code ec;
  fs::create_directories(final_path.parent_path().empty() ? "." : final_path.parent_path(), ec);
  if (ec) Fail("cannot create ", final_path.parent_path().string(), ": ", ec.message());

  if (!FLAGS_quiet) std::fprintf(stderr, "downloading %s\n", url.c_str());
  DownloadResult r;
  try {
    r = DownloadToPart(url, part_path, /*progress=*/!FLAGS_quiet);
  } catch (const Error&) {
    // Nothing to resume from: an empty partial file would only be left behind.
    if (fs::is_regular_file(fs::symlink_status(part_path, ec)) &&
        fs::file_size(part_path, ec) == 0) {
      fs::remove(part_path, ec);
    }
    throw;
  }
  if (r.resumed_from > 0 && !FLAGS_quiet) {
    std::fprintf(stderr, "resumed after %s already in %s\n", HumanBytes(r.resumed_from).c_str(),
                 part_path.c_str());
  }
  if (r.expected_size && r.bytes_on_disk != *r.expected_size) {
    if (r.bytes_on_disk < *r.expected_size) {
      Fail("download incomplete: ", r.bytes_on_disk, " of ", *r.expected_size, " bytes in ",
           part_path, "; run the same command again to resume");
    }
    fs::remove(part_path, ec);
    Fail("the server sent ", r.bytes_on_disk, " bytes but announced ", *r.expected_size,
         " (removed ", part_path, ")");
  }
  std::string verified = ", size not announced by the server";
  if (r.expected_size) verified = ", size checked";
  if (!r.sha256.empty()) {
    ProgressBar bar("verify sha256");
    const std::string got = download::Sha256FileHex(
        part_path, [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); });
    bar.Finish();
    if (got != r.sha256) {
      fs::remove(part_path, ec);
      Fail("checksum mismatch for ", url, ": the server's sha256 is ", r.sha256,
           ", the download's ", got, " (removed ", part_path, ")");
    }
    verified = ", sha256 verified";
  }
  // An HTML page, an empty body or another file served under the name would otherwise stay
  // under the final name, and the next pull would say "already there".
  if (final_path.extension() == ".gguf") {
    try {
      gguf::GgufFile::Open(part_path);
    } catch (const Error& e) {
      fs::remove(part_path, ec);
      Fail("the server sent something that is not a GGUF file (removed ", part_path,
           "): ", e.what());
    }
  }
  // The final name appears only for a complete, verified file.
  fs::rename(part_path, final_path, ec);
  if (ec) Fail("cannot rename ", part_path, " to ", final_path.string(), ": ", ec.message());
  std::printf("saved ");
  Describe(final_path.string(), verified);
  return 0;
}

// std::filesystem throws for what the OS refuses (a name over 255 bytes, a device where a folder
// should be); each is one line like any other error.
int RunPull(const Args& args) {
  try {
    return Pull(args);
  } catch (const fs::filesystem_error& e) {
    Fail(e.what());
  }
}

}  // namespace

BITJIT_COMMAND(pull, "pull", "download a model from Hugging Face (resumable, verified)",
               "REPO [--file ggml-model-i2_s.gguf] [--dir models] [--endpoint URL]",
               {"file", "dir", "endpoint"}, &RunPull);

}  // namespace bitjit::cli
