// sweep_throughput: cells per second of a sweep (study/sweep.hpp) at width 256, depth 30, one seed
// per cell, on one thread (value) and, where the process may use more cores, on all of them
// (sweep_threads, against one thread), in wall time.
#include <gradscope/study/sweep.hpp>

#include "benchmarks.hpp"

namespace gradscope::bench {

std::vector<Figure> sweep_throughput(const Options& opt) {
  const unsigned cores = study::available_cores();
  study::Grid grid;
  grid.depths = {30};
  grid.widths = {256};
  grid.acts = {"relu", "tanh"};
  grid.inits = {"he", "xavier"};
  grid.repeats = 1;
  const auto specs = study::cells(grid);
  const double cells = double(specs.size());
  auto rate = [&](unsigned threads) {
    return cells / wall_seconds([&] { keep(study::run_sweep(grid, specs, {}, threads)); });
  };
  Figure one{"sweep_throughput", "cells/s", "", {}, {}, {}};
  Figure all{"sweep_threads", "cells/s",
             std::to_string(cores) + " threads against one (value: all; wall time)", {}, {}, {}};
  rate(1);  // warm-up
  for (int r = 0; r < opt.repeat; ++r) {
    const double single = rate(1);
    one.values.push_back(single);
    if (cores == 1) continue;
    all.baselines.push_back(single);
    all.values.push_back(rate(cores));
  }
  if (cores == 1) return {one};
  return {one, all};
}

}  // namespace gradscope::bench
