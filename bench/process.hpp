#pragma once
// What the benchmarks measure about this process besides the work itself (CPU time, heap
// allocations, resident memory).
#include <cstdint>

#include "resident.hpp"  // resident_kib()

namespace gradscope::bench {

// CPU seconds this process has used (all threads).
double cpu_now();

// Heap allocations made by this process so far (malloc, calloc, realloc, the aligned variants,
// and therefore also operator new and Eigen's aligned_malloc, which both call malloc).
std::uint64_t allocation_count();

}  // namespace gradscope::bench
