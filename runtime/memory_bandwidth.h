// Measures the machine's memory read bandwidth the way a decode step reads weights: threads
// stream disjoint parts of a buffer much larger than the caches.
#pragma once

namespace bitjit {

// Median GB/s (1e9 bytes/s) over `repeats` passes with `n_threads` readers.
double MeasureReadBandwidth(int n_threads, int repeats = 5);

}  // namespace bitjit
