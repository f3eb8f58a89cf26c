#pragma once
// The resident set size of this process, shared by the benchmarks and the long-run test
// (tests/reliability/long_run.cpp).
namespace gradscope::bench {

// VmRSS from /proc/self/status, in KiB; 0 if unavailable.
long resident_kib();

}  // namespace gradscope::bench
