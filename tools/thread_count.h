// The upper bound of -t. Threads past the hardware's only take turns on its cores, and each one
// costs a stack and a share of every parallel loop's barrier: `-t 4096` once ran for minutes on
// a tiny model. The bound leaves room to oversubscribe on purpose (4 x the hardware threads)
// while refusing counts that can only be typos.
#pragma once

#include <cstdint>

namespace bitjit::cli {

// min(4 x hardware threads, 1024).
int MaxThreads();

// Refuses a thread count outside 0..MaxThreads() (0: the default). `flag` is how the user spelled
// it ("-t"). Throws bitjit::Error.
void CheckThreadCount(int64_t n, const char* flag);

}  // namespace bitjit::cli
