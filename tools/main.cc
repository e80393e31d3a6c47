// bitjit: command-line entry. Parses "bitjit COMMAND [flags] [args]" with our own loop over
// gflags (so that an unknown flag or a bad value is a one-line "error: ..." with exit 2, and a
// flag that a command does not read is refused), then runs the command.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "frontend/gguf/mapped_file_faults.h"
#include "ir/base/error.h"
#include "tools/command.h"

namespace bitjit::cli {

std::vector<Command>& Registry() {
  static std::vector<Command> commands;
  return commands;
}

namespace {

// Flags every command accepts.
const char* const kGlobalFlags[] = {"v", "quiet", "help"};

void PrintUsage(FILE* out) {
  std::fprintf(out, "usage: bitjit COMMAND [flags] [args]\n\ncommands:\n");
  auto commands = Registry();
  std::sort(commands.begin(), commands.end(),
            [](const Command& a, const Command& b) { return std::strcmp(a.name, b.name) < 0; });
  for (const Command& c : commands) std::fprintf(out, "  %-11s %s\n", c.name, c.summary);
  std::fprintf(out, "\n'bitjit COMMAND --help' shows a command's flags.\n");
}

void PrintCommandHelp(const Command& command) {
  std::printf("usage: bitjit %s %s\n%s\n\nflags:\n", command.name, command.usage,
              command.summary);
  std::vector<std::string> names = command.flags;
  names.push_back("v");
  names.push_back("quiet");
  for (const std::string& name : names) {
    gflags::CommandLineFlagInfo info;
    if (!gflags::GetCommandLineFlagInfo(name.c_str(), &info)) continue;
    std::printf("  %s%-18s %s (%s, default: %s)\n", name.size() == 1 ? "-" : "--", name.c_str(),
                info.description.c_str(), info.type.c_str(),
                info.default_value.empty() ? "\"\"" : info.default_value.c_str());
  }
}

bool Accepts(const Command& command, const std::string& name) {
  for (const char* g : kGlobalFlags)
    if (name == g) return true;
  return std::find(command.flags.begin(), command.flags.end(), name) != command.flags.end();
}

// Finds a flag by its name as typed, or with dashes read as underscores (--ignore-eos is
// gflags' ignore_eos). On success `name` becomes the registered name.
bool ResolveFlag(std::string* name, gflags::CommandLineFlagInfo* info) {
  std::string underscored = *name;
  std::replace(underscored.begin(), underscored.end(), '-', '_');
  if (!gflags::GetCommandLineFlagInfo(name->c_str(), info) &&
      !gflags::GetCommandLineFlagInfo(underscored.c_str(), info)) {
    return false;
  }
  *name = info->name;  // gflags may match a spelling other than the registered one
  return true;
}

// Applies argv[first..] to gflags; returns positional arguments. Accepts "-x v", "--x v",
// "--x=v", "-x=v", bare booleans "--x" and "--nox", and "--" to end flags. A bare "-v" means
// verbose logging (--v=1).
Args ParseFlags(const Command& command, int argc, char** argv, int first, bool* help) {
  Args args;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) args.positional.push_back(argv[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-' || (arg[1] >= '0' && arg[1] <= '9')) {
      args.positional.push_back(arg);
      continue;
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string name = body, value;
    bool has_value = false;
    if (auto eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    if (name == "help" || name == "h") {
      *help = true;
      continue;
    }
    if (name == "v" && !has_value) {
      (void)gflags::SetCommandLineOption("v", "1");
      continue;
    }
    for (const auto& [alias, target] : command.aliases)
      if (name == alias) name = target;
    gflags::CommandLineFlagInfo info;
    bool negated = false;
    if (!ResolveFlag(&name, &info)) {
      // "--no-bos", "--no_bos", "--nobos" negate boolean flags.
      for (const char* prefix : {"no-", "no_", "no"}) {
        std::string rest = name.substr(0, std::strlen(prefix)) == prefix
                               ? name.substr(std::strlen(prefix)) : std::string();
        if (!rest.empty() && ResolveFlag(&rest, &info) && info.type == "bool") {
          negated = true;
          name = rest;
          break;
        }
        info = {};
      }
    }
    if (info.name.empty() || !Accepts(command, name)) {
      Fail("unknown flag '", arg, "' for 'bitjit ", command.name, "' (see bitjit ", command.name,
           " --help)");
    }
    if (info.type == "bool") {
      if (negated && has_value) Fail("flag '", arg, "' takes no value");
      if (!has_value) value = negated ? "false" : "true";
    } else if (!has_value) {
      if (i + 1 >= argc) Fail("flag '", arg, "' needs a value");
      value = argv[++i];
    }
    if (gflags::SetCommandLineOption(name.c_str(), value.c_str()).empty()) {
      Fail("bad value '", value, "' for flag '", arg, "' (expected ", info.type, ")");
    }
  }
  return args;
}

}  // namespace
}  // namespace bitjit::cli

int main(int argc, char** argv) {
  using namespace bitjit::cli;
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 1;  // warnings and up unless -v
  google::InitGoogleLogging(argv[0]);
  // A model file truncated while it is mapped: a one-line error and exit 2, not a bus error.
  bitjit::gguf::HandleFaultsInMappedFiles();
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    PrintUsage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const Command* command = nullptr;
  for (const Command& c : Registry())
    if (!std::strcmp(c.name, argv[1])) command = &c;
  if (command == nullptr) {
    std::fprintf(stderr, "error: unknown command '%s' (see bitjit --help)\n", argv[1]);
    return 2;
  }
  try {
    bool help = false;
    Args args = ParseFlags(*command, argc, argv, 2, &help);
    if (help) {
      PrintCommandHelp(*command);
      return 0;
    }
    if (FLAGS_v > 0) FLAGS_minloglevel = 0;
    return command->run(args);
  } catch (const bitjit::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: out of memory\n");
    return 2;
  }
}
