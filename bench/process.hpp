#pragma once
// What the benchmarks read about this process besides the work itself (CPU time, the steady clock,
// heap allocations, resident memory).
#include <cstdint>

#include "resident.hpp"  // resident_kib()

namespace gradscope::bench {

// CPU seconds the calling thread has used. The single-threaded figures' work all runs on it (the
// products pinned to one thread run on their caller); a library's idle worker thread that spins
// waiting for work (OpenBLAS's, for a while after it starts and after each parallel product) is
// not counted against whatever the figure times.
double cpu_now();

// Seconds of the steady (monotonic wall) clock, read without a system call: for timing intervals
// of microseconds one at a time, where cpu_now()'s system call (a microsecond or more in a
// virtual machine) would be a measurable part of the interval.
double wall_now();

// Heap allocations made by this process so far (malloc, calloc, realloc, the aligned variants,
// and therefore also operator new and Eigen's aligned_malloc, which both call malloc).
std::uint64_t allocation_count();

}  // namespace gradscope::bench
