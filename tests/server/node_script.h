// Test helper: runs `node SCRIPT ARGS...` (a script in tests/server/) to its end and returns its
// exit status and everything it printed. A missing node is reported in the output, with what to
// run. Header-only: tests/CMakeLists.txt compiles tests/*_test.cc and tests/testing/*.cc only.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/testing/cli.h"

namespace bitjit::testing {

struct NodeRun {
  bool ok = false;  // exited with 0
  std::string output;
};

inline NodeRun RunNodeScript(const std::string& script, std::vector<std::string> args) {
  TempDir dir;
  const std::string out = dir.File("out");
  args.insert(args.begin(), {"node", script});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execvp("node", argv.data());
    std::fprintf(stderr, "cannot run node (%s): install Node.js and run scripts/setup.sh\n",
                 std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(out);
  NodeRun run;
  run.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  run.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return run;
}

}  // namespace bitjit::testing
