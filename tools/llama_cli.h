// Running a local bitnet.cpp `llama-cli` for `bitjit crossval --llama-cli`, and comparing the
// text it printed with bitjit's own greedy text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bitjit::cli {

struct ProgramOutput {
  int exit_code = -1;  // -1: killed by a signal
  std::string out, err;
};

// Runs argv[0] with argv (fork/exec, no shell, so a prompt is passed byte for byte) and stdin
// from /dev/null (llama-cli must not wait for a chat turn). Throws bitjit::Error when it cannot
// be started.
ProgramOutput RunProgram(const std::vector<std::string>& argv);

// llama-cli prints the prompt (detokenized), the generated text, then "\n\n". Compares that
// with `echo` + `ours` byte by byte.
struct TextComparison {
  bool matches = false;
  bool prompt_differs = false;  // the echoed prompt is not `echo`: nothing else was compared
  // First differing byte of the generated text (a length difference counts at the shorter
  // length); -1 when it matches or the prompt differs.
  int64_t first_diff = -1;
  std::string detail;  // one line saying where and what differs ("" when it matches)
};
TextComparison CompareCliText(std::string_view printed, std::string_view echo,
                              std::string_view ours);

// Printable form of bytes for one-line messages: escapes control and non-ASCII bytes.
std::string EscapeBytes(std::string_view bytes);

}  // namespace bitjit::cli
