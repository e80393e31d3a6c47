// Runs the bitjit binary (BITJIT_CLI) in a subprocess and captures what it printed.
#pragma once

#include <string>
#include <vector>

namespace bitjit::testing {

struct CliResult {
  int exit_code = -1;  // -1: killed by a signal (a crash)
  std::string out, err;
};

// Runs `bitjit args...` with `stdin_text` on standard input; never goes through a shell.
CliResult RunCli(const std::vector<std::string>& args, const std::string& stdin_text = "");

// Runs `binary args...` the same way (argv[0] is `binary` as given: a link's name counts).
CliResult RunProgram(const std::string& binary, const std::vector<std::string>& args,
                     const std::string& stdin_text = "");

// build/bin/NAME: the links the build makes to bitjit (llama-cli, llama-bench, ...).
std::string BinProgram(const std::string& name);

// A small random model (`bitjit synth --preset tiny`), written once per test process.
const std::string& SynthTinyModel();

// A fresh temporary directory, removed when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace bitjit::testing
