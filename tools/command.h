// Subcommands of the `bitjit` CLI. Each lives in its own cmd_*.cc file and registers itself
// with BITJIT_COMMAND; main.cc parses the flags a command accepts and dispatches to it.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace bitjit::cli {

// What a command receives: positional arguments (flags already applied to gflags' FLAGS_*).
struct Args {
  std::vector<std::string> positional;
};

struct Command {
  const char* name;
  const char* summary;
  const char* usage;               // one line after "bitjit NAME"
  std::vector<std::string> flags;  // gflags names this command reads (besides the global ones)
  int (*run)(const Args& args);    // returns the exit code; throws bitjit::Error on bad input
  // Spellings this command reads as another flag: {"t", "bench_t"} makes "-t 1,2" set
  // --bench_t (bench takes lists where other commands take one number). A spelling may carry
  // its dashes ({"-ngl", "n_gpu_layers"}); help prints it as written.
  std::vector<std::pair<std::string, std::string>> aliases = {};
  // Defaults that differ from the flag's own for this command (llama-cli's -n is -1, run's 64).
  std::vector<std::pair<std::string, std::string>> defaults = {};
  // Spellings this command knows and refuses, with why: a llama.cpp flag that would change
  // results and that bitjit does not implement gets a message naming it, not "unknown flag".
  std::vector<std::pair<std::string, std::string>> refused = {};
  // Flags that may be given several times; their values are joined with '\n' in order.
  std::vector<std::string> repeatable = {};
};

std::vector<Command>& Registry();
// The registered command of that name, or nullptr.
const Command* FindCommand(const std::string& name);
// Personalities are the commands named as llama.cpp's programs ("llama-cli"): they are run
// through a link of that name (build/bin/llama-cli) or as "bitjit llama-cli".
bool IsPersonality(const Command& command);
// How messages name the command: "llama-cli" for a personality, "bitjit run" otherwise.
std::string DisplayName(const Command& command);

struct Registrar {
  explicit Registrar(Command command) { Registry().push_back(std::move(command)); }
};

#define BITJIT_COMMAND(id, ...) \
  static ::bitjit::cli::Registrar bitjit_command_registrar_##id(::bitjit::cli::Command{__VA_ARGS__})

}  // namespace bitjit::cli
