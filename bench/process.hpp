#pragma once
// What the benchmarks measure about this process besides the work itself (CPU time, heap
// allocations, resident memory), and the threads its matrix products may take.
#include <cstdint>

#include "resident.hpp"  // resident_kib()

namespace gradscope::bench {

// CPU seconds this process has used (all threads).
double cpu_now();

// Heap allocations made by this process so far (malloc, calloc, realloc, the aligned variants,
// and therefore also operator new and Eigen's aligned_malloc, which both call malloc).
std::uint64_t allocation_count();

// Runs the library's large matrix products on n threads: Eigen's, and in a build whose products
// run on OpenBLAS (GRADSCOPE_BLAS), OpenBLAS's own, which Eigen's setting does not reach.
void set_product_threads(int n);

}  // namespace gradscope::bench
