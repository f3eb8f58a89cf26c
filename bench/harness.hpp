#pragma once
// The benchmark harness: a benchmark is a function that runs its workload and its baseline
// `repeat` times, interleaved, and returns one or more figures with every repetition's
// measurement. The driver (main.cpp) turns them into min/median/max, ratios and JSON.
// To add a benchmark: write bench/<name>.cpp with a function of type Benchmark and add one line
// to kBenchmarks in benchmarks.hpp.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"

namespace gradscope::bench {

struct Options {
  int repeat = 7;                     // repetitions per figure
  long long long_iterations = 50000;  // training iterations of the RSS run (0 skips it)
};

// What a figure is judged against: its value or its ratio to the baseline, at most or at least
// a bound.
struct Target {
  enum class Of { Value, Ratio } of;
  enum class Is { AtMost, AtLeast } is;
  double bound;
  bool met(double value, double ratio) const {
    const double x = of == Of::Value ? value : ratio;
    return is == Is::AtMost ? x <= bound : x >= bound;
  }
};

struct Figure {
  std::string name, unit;
  std::string baseline_name;      // what the baseline is; empty when the figure has none
  std::vector<double> values;     // one per repetition
  std::vector<double> baselines;  // one per repetition, measured beside values[i]; or empty
  std::optional<Target> target;
  // The ratio is value / baseline, or with speedup baseline / value: how many times faster the
  // value is than its baseline (the libtorch comparisons).
  bool speedup = false;
};

using Benchmark = std::vector<Figure> (*)(const Options&);

// CPU seconds the calling thread spent in f() (cpu_now). CPU time rather than wall time because
// the benchmarks run single-threaded on shared machines, where wall time also counts other
// processes' turns.
template <class F>
double seconds(F&& f) {
  const double t0 = cpu_now();
  f();
  return cpu_now() - t0;
}

// Microseconds of CPU time per call of f, over `calls` calls in a row: a training loop's steps
// follow one another on the same net, its data warm in the caches, so its baseline is timed so
// too. Configurations compared take their blocks of calls in turn, so that a drift in the
// machine's speed reaches each alike.
template <class F>
double micros_per_call(int calls, F&& f) {
  return seconds([&] {
           for (int k = 0; k < calls; ++k) f();
         }) /
         calls * 1e6;
}

// Wall-clock seconds f() took: for the figures that compare thread counts, where CPU time would
// count every thread's turn.
template <class F>
double wall_seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Keeps the compiler from discarding the computation that produced x.
template <class X>
void keep(const X& x) {
  asm volatile("" : : "g"(&x) : "memory");
}

}  // namespace gradscope::bench
