#pragma once
// Every benchmark of gradscope_bench, in the order they run. To add one: define its function in
// bench/<name>.cpp (see harness.hpp), declare it here and list it in kBenchmarks.
#include <string_view>

#include "harness.hpp"

namespace gradscope::bench {

std::vector<Figure> post_train(const Options&);
std::vector<Figure> allocations_per_iteration(const Options&);
std::vector<Figure> scalar_tape(const Options&);
std::vector<Figure> wide_mlp(const Options&);
std::vector<Figure> long_run(const Options&);
std::vector<Figure> sweep_throughput(const Options&);
#if GRADSCOPE_BENCH_HOOKS  // built with hooks compiled in (bench/CMakeLists.txt)
std::vector<Figure> monitor_overhead(const Options&);
std::vector<Figure> hook_cost(const Options&);
std::vector<Figure> monitor_memory(const Options&);
#endif
#if GRADSCOPE_BENCH_ADOLC
std::vector<Figure> scalar_tape_adolc(const Options&);
#endif
#if GRADSCOPE_BENCH_LIBTORCH
std::vector<Figure> post_train_libtorch(const Options&);
std::vector<Figure> wide_mlp_libtorch(const Options&);
#endif

struct Entry {
  std::string_view name;
  Benchmark run;
};
inline constexpr Entry kBenchmarks[] = {
    {"post_train", post_train},
    {"allocations_per_iteration", allocations_per_iteration},
    {"scalar_tape", scalar_tape},
#if GRADSCOPE_BENCH_ADOLC
    {"scalar_tape_adolc", scalar_tape_adolc},
#endif
    {"wide_mlp", wide_mlp},
    {"long_run", long_run},
    {"sweep_throughput", sweep_throughput},
#if GRADSCOPE_BENCH_HOOKS
    {"monitor_overhead", monitor_overhead},
    {"hook_cost", hook_cost},
    {"monitor_memory", monitor_memory},
#endif
#if GRADSCOPE_BENCH_LIBTORCH
    {"post_train_libtorch", post_train_libtorch},
    {"wide_mlp_libtorch", wide_mlp_libtorch},
#endif
};

}  // namespace gradscope::bench
