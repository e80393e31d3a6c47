// Subcommands of the `bitjit` CLI. Each lives in its own cmd_*.cc file and registers itself
// with BITJIT_COMMAND; main.cc parses the flags a command accepts and dispatches to it.
#pragma once

#include <string>
#include <vector>

namespace bitjit::cli {

// What a command receives: positional arguments (flags already applied to gflags' FLAGS_*).
struct Args {
  std::vector<std::string> positional;
};

struct Command {
  const char* name;
  const char* summary;
  const char* usage;             // one line after "bitjit NAME"
  std::vector<std::string> flags;  // gflags names this command reads (besides the global ones)
  int (*run)(const Args& args);  // returns the exit code; throws bitjit::Error on bad input
  // Spellings this command reads as another flag: {"t", "bench_t"} makes "-t 1,2" set
  // --bench_t (bench takes lists where other commands take one number).
  std::vector<std::pair<std::string, std::string>> aliases = {};
};

std::vector<Command>& Registry();

struct Registrar {
  explicit Registrar(Command command) { Registry().push_back(std::move(command)); }
};

#define BITJIT_COMMAND(id, ...) \
  static ::bitjit::cli::Registrar bitjit_command_registrar_##id(::bitjit::cli::Command{__VA_ARGS__})

}  // namespace bitjit::cli
