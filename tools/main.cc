// bitjit: command-line entry. Parses "bitjit COMMAND [flags] [args]" with our own loop over
// gflags (so that an unknown flag or a bad value is a one-line "error: ..." with exit 2, and a
// flag that a command does not read is refused), then runs the command.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

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
  for (const Command& c : commands) std::fprintf(out, "  %-16s %s\n", c.name, c.summary);
  std::fprintf(out, "\n'bitjit COMMAND --help' shows a command's flags.\n");
}

// A spelling without its dashes and with '-' read as '_': "--n-predict" is "n_predict".
std::string Normalized(const std::string& spelling) {
  std::string name = spelling.substr(std::min(spelling.find_first_not_of('-'), spelling.size()));
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// How a person writes a flag: "-m" for one letter, "--top-k" otherwise.
std::string Dashed(const std::string& name) {
  if (name.rfind('-', 0) == 0) return name;  // an alias spelled with its dashes
  std::string dashed = name;
  std::replace(dashed.begin(), dashed.end(), '_', '-');
  // Appended, not "literal" + string: GCC 12 warns falsely (-Wrestrict) on the latter.
  std::string spelled = name.size() == 1 ? "-" : "--";
  return spelled += dashed;
}

// A default as a person writes it: gflags keeps doubles at full precision
// ("0.80000000000000004"); the shortest text that reads back the same is "0.8".
std::string ReadableDefault(const gflags::CommandLineFlagInfo& info) {
  if (info.default_value.empty()) return "\"\"";
  if (info.type != "double") return info.default_value;
  char text[32];
  const double value = std::strtod(info.default_value.c_str(), nullptr);
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  return ec == std::errc() ? std::string(text, end) : info.default_value;
}

// The spellings of one flag on this command's command line, short ones first. A
// personality's flag with aliases is shown only by them (llama-cli's "-s, --seed", not the
// internal name behind them).
std::vector<std::string> Spellings(const Command& command, const std::string& name) {
  std::vector<std::string> spellings;
  for (const auto& [alias, target] : command.aliases)
    if (target == name) spellings.push_back(Dashed(alias));
  if (spellings.empty() || !IsPersonality(command)) spellings.push_back(Dashed(name));
  std::stable_sort(spellings.begin(), spellings.end(),
                   [](const std::string& a, const std::string& b) {
                     return (a.rfind("--", 0) != 0) > (b.rfind("--", 0) != 0);
                   });
  spellings.erase(std::unique(spellings.begin(), spellings.end()), spellings.end());
  return spellings;
}

void PrintCommandHelp(const Command& command) {
  std::printf("usage: %s %s\n%s\n\nflags:\n", DisplayName(command).c_str(), command.usage,
              command.summary);
  std::vector<std::string> names = command.flags;
  names.push_back("v");
  names.push_back("quiet");
  for (const std::string& name : names) {
    gflags::CommandLineFlagInfo info;
    if (!gflags::GetCommandLineFlagInfo(name.c_str(), &info)) continue;
    std::string spelled;
    std::vector<std::string> spellings = Spellings(command, name);
    // A switch that is on by default is used as its negation ("--no-display-prompt").
    if (info.type == "bool" && info.default_value == "true") {
      std::string negated = "--no-";
      spellings.push_back(negated += Normalized(spellings.back()));
      std::replace(spellings.back().begin(), spellings.back().end(), '_', '-');
    }
    for (const std::string& s : spellings) {
      if (!spelled.empty()) spelled += ", ";
      spelled += s;
    }
    std::printf("  %-24s %s (%s, default: %s)\n", spelled.c_str(), info.description.c_str(),
                info.type.c_str(), ReadableDefault(info).c_str());
  }
  for (const auto& [spelling, why] : command.refused)
    std::printf("  %-24s refused: %s\n", Dashed(spelling).c_str(), why.c_str());
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
  std::vector<std::string> given;  // flags set so far, for Command::repeatable
  for (const auto& [name, value] : command.defaults) {
    gflags::SetCommandLineOptionWithMode(name.c_str(), value.c_str(), gflags::SET_FLAGS_DEFAULT);
  }
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
    const std::string normalized = Normalized(name);
    for (const auto& [spelling, why] : command.refused) {
      if (normalized == Normalized(spelling)) {
        Fail("'", arg, "' is not supported by ", DisplayName(command), ": ", why);
      }
    }
    if ((name == "v" || (IsPersonality(command) && normalized == "verbose")) && !has_value) {
      (void)gflags::SetCommandLineOption("v", "1");
      continue;
    }
    for (const auto& [alias, target] : command.aliases)
      if (normalized == Normalized(alias)) name = target;
    gflags::CommandLineFlagInfo info;
    bool negated = false;
    if (!ResolveFlag(&name, &info)) {
      // "--no-bos", "--no_bos", "--nobos" negate boolean flags.
      for (const char* prefix : {"no-", "no_", "no"}) {
        std::string rest = name.substr(0, std::strlen(prefix)) == prefix
                               ? name.substr(std::strlen(prefix))
                               : std::string();
        if (!rest.empty() && ResolveFlag(&rest, &info) && info.type == "bool") {
          negated = true;
          name = rest;
          break;
        }
        info = {};
      }
    }
    if (info.name.empty() || !Accepts(command, name)) {
      Fail("unknown flag '", arg, "' for '", DisplayName(command), "' (see ", DisplayName(command),
           " --help)");
    }
    if (info.type == "bool") {
      if (negated && has_value) Fail("flag '", arg, "' takes no value");
      if (!has_value) value = negated ? "false" : "true";
    } else if (!has_value) {
      if (i + 1 >= argc) Fail("flag '", arg, "' needs a value");
      value = argv[++i];
    }
    const bool again = std::find(given.begin(), given.end(), name) != given.end();
    if (again && std::find(command.repeatable.begin(), command.repeatable.end(), name) !=
                     command.repeatable.end()) {
      value = gflags::GetCommandLineFlagInfoOrDie(name.c_str()).current_value + "\n" + value;
    }
    given.push_back(name);
    if (gflags::SetCommandLineOption(name.c_str(), value.c_str()).empty()) {
      Fail("bad value '", value, "' for flag '", arg, "' (expected ", info.type, ")");
    }
  }
  return args;
}

}  // namespace

const Command* FindCommand(const std::string& name) {
  for (const Command& c : Registry())
    if (name == c.name) return &c;
  return nullptr;
}

bool IsPersonality(const Command& command) {
  return std::string_view(command.name).starts_with("llama-");
}

std::string DisplayName(const Command& command) {
  return IsPersonality(command) ? std::string(command.name) : "bitjit " + std::string(command.name);
}

}  // namespace bitjit::cli

int main(int argc, char** argv) {
  using namespace bitjit::cli;
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 1;  // warnings and up unless -v
  google::InitGoogleLogging(argv[0]);
  // A model file truncated while it is mapped: a one-line error and exit 2, not a bus error.
  bitjit::gguf::HandleFaultsInMappedFiles();
  // Started through a link named as a llama.cpp program (build/bin/llama-cli): that
  // personality, with every argument its flags.
  const std::string invoked = std::filesystem::path(argv[0]).filename().string();
  const Command* command = invoked.starts_with("llama-") ? FindCommand(invoked) : nullptr;
  int first_flag = 1;
  if (command == nullptr) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
        !std::strcmp(argv[1], "help")) {
      PrintUsage(argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
    command = FindCommand(argv[1]);
    first_flag = 2;
  }
  if (command == nullptr) {
    std::fprintf(stderr, "error: unknown command '%s' (see bitjit --help)\n", argv[1]);
    return 2;
  }
  try {
    bool help = false;
    Args args = ParseFlags(*command, argc, argv, first_flag, &help);
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
