#pragma once
// Every benchmark of gradscope_bench, in the order they run. To add one: define its function in
// bench/<name>.cpp (see harness.hpp), declare it here and list it in kBenchmarks.
#include <string_view>

#include "harness.hpp"

namespace gradscope::bench {

std::vector<Figure> seed_train(const Options&);
std::vector<Figure> allocations_per_iteration(const Options&);
std::vector<Figure> scalar_tape(const Options&);
std::vector<Figure> wide_mlp(const Options&);
std::vector<Figure> long_run(const Options&);

struct Entry {
  std::string_view name;
  Benchmark run;
};
inline constexpr Entry kBenchmarks[] = {
    {"seed_train", seed_train},
    {"allocations_per_iteration", allocations_per_iteration},
    {"scalar_tape", scalar_tape},
    {"wide_mlp", wide_mlp},
    {"long_run", long_run},
};

}  // namespace gradscope::bench
