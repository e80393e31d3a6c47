// Model files are memory-mapped, and reading a page of a mapping past the end of its file
// raises SIGBUS: a model file truncated (or rewritten shorter) while bitjit runs used to kill
// `bitjit serve` with a bus error on the next request. A check of the file's size before each
// use cannot close that race (the file can shrink right after the check), so the fault itself is
// handled: a SIGBUS whose address lies in a registered mapping ends the process with one line,
// "error: PATH changed while in use ...", and exit code 2. Any other SIGBUS goes to the handler
// that was there before (the default: a crash, as a bug should be).
#pragma once

#include <cstddef>

namespace bitjit::gguf {

// Registers [begin, begin + size) as the mapping of the file at `path` (which must stay valid
// until UnregisterMappedFile). Async-signal-safe to read; at most 64 mappings at once (more are
// not guarded).
void RegisterMappedFile(const void* begin, size_t size, const char* path);
void UnregisterMappedFile(const void* begin);

// Installs the SIGBUS handler once (bitjit's main does; a library user may).
void HandleFaultsInMappedFiles();

}  // namespace bitjit::gguf
