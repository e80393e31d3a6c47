// The one check every writer of a user-named output (synth -o, compile -o and its sidecar,
// tune's --tuning-cache) makes before it creates or replaces anything. Writers replace their
// output by renaming a finished temporary file over it, or by truncating it; either one done to
// a symlink, a FIFO, a device node or a directory replaces something that is not ours (run as
// root, `synth -o /dev/full` replaced /dev/full with a regular file).
#pragma once

#include <string>

namespace bitjit {

// Accepts a path that does not exist yet or names a regular file (not through a symlink);
// anything else throws bitjit::Error naming the path and what is there.
void CheckOutputPath(const std::string& path);

}  // namespace bitjit
