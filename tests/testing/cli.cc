#include "tests/testing/cli.h"

#include "tests/testing/golden.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace bitjit::testing {
TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "bitjit-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

CliResult RunCli(const std::vector<std::string>& args, const std::string& stdin_text) {
  return RunProgram(BITJIT_CLI, args, stdin_text);
}

std::string BinProgram(const std::string& name) {
  return std::string(BITJIT_BIN_DIR) + "/" + name;
}

CliResult RunProgram(const std::string& binary_path, const std::vector<std::string>& args,
                     const std::string& stdin_text) {
  TempDir dir;
  const std::string in_path = dir.File("stdin"), out_path = dir.File("stdout"),
                    err_path = dir.File("stderr");
  std::ofstream(in_path, std::ios::binary) << stdin_text;
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int in = open(in_path.c_str(), O_RDONLY);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> argv;
    std::string binary = binary_path;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

const std::string& SynthTinyModel() {
  static TempDir dir;  // removed at exit: the tests of one process share the file
  static const std::string path = [] {
    const std::string file = dir.File("tiny.gguf");
    const CliResult r = RunCli({"synth", "-o", file, "--preset", "tiny"});
    if (r.exit_code != 0) throw std::runtime_error("bitjit synth failed: " + r.err);
    return file;
  }();
  return path;
}

}  // namespace bitjit::testing
