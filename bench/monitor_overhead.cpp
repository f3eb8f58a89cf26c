// What watching gradients costs on the post's training workload: the GradientMonitor attached at
// every node against backward without it, and an observer that does nothing (the engine's part of
// that cost); hooks compiled in but none registered against hooks compiled out; the monitor's
// memory over a long run, and its steady-state allocations.
#include <gradscope/instruments/monitor.hpp>
#include <spdlog/sinks/null_sink.h>

#include <algorithm>
#include <vector>

#include "backward_workload.hpp"
#include "benchmarks.hpp"
#include "post_workload.hpp"

namespace gradscope::bench {

namespace {

std::shared_ptr<spdlog::logger> null_logger() {
  auto log = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_st>());
  log->set_level(spdlog::level::warn);
  return log;
}

// Microseconds per backward() of b: the median over kPostSteps steps in a row (as
// micros_per_step), each backward timed on its own by the steady clock (wall_now), so that a pass
// the machine interrupted does not count.
double micros_per_backward(const PostBackward& b) {
  std::vector<double> t(kPostSteps);
  for (auto& x : t) x = b(wall_now);
  std::nth_element(t.begin(), t.begin() + kPostSteps / 2, t.end());
  return t[kPostSteps / 2];
}

}  // namespace

std::vector<Figure> monitor_overhead(const Options& opt) {
  // The budget is on the whole training step (record, backward, update); backward alone is shown
  // for where the cost sits.
  Figure backward{"monitor_overhead_backward", "us/backward", "backward without monitor", {}, {}, {}};
  Figure step{"monitor_overhead_step", "us/iter", "training step without monitor", {}, {},
              Target{Target::Of::Ratio, Target::Is::AtMost, 1.15}};
  // What the default monitor adds per gradient element backward writes: a figure that does not
  // move when the engine's backward gets faster or slower, as the ratios do.
  Figure per_element{"monitor_overhead_per_element", "ns/element", "", {}, {}, {}};
  // The engine's share of the monitor's cost: the step with an observer that does nothing, which
  // takes backward through its instrumented loop and calls it at every node.
  Figure observed{"observer_overhead_step", "us/iter", "training step without observer", {}, {}, {}};
  const PostData data;
  GradscopePostNet plain(data), watched(data), observed_net(data);
  const double elements = [&] {  // recording alone fixes which nodes will get a gradient
    plain.record();
    double n = 0;
    for (std::uint32_t i = 0; i < plain.graph().size(); ++i)
      if (plain.graph().node(i).requires_grad()) n += double(plain.graph().node(i).shape().size());
    return n;
  }();
  MonitorOptions options;
  options.logger = null_logger();
  GradientMonitor<double> monitor(options);
  watched.graph().add_observer(monitor);
  struct : Observer<double> {
    void on_node(const NodeView<double>&) override {}
  } nothing;
  observed_net.graph().add_observer(nothing);
  for (int k = 0; k < 3; ++k) {  // warm-up, as the PostBackward nets have had
    plain.step();
    watched.step();
    observed_net.step();
  }
  // Each repetition times kPostSteps steps of each configuration in a row, one after another.
  const PostBackward base = plain_post_backward(), monitored = monitored_post_backward();
  for (int r = 0; r < opt.repeat; ++r) {
    const double t_base = micros_per_backward(base), t_monitored = micros_per_backward(monitored);
    const double t_plain = micros_per_step(plain), t_watched = micros_per_step(watched),
                 t_observed = micros_per_step(observed_net);
    backward.baselines.push_back(t_base);
    backward.values.push_back(t_monitored);
    per_element.values.push_back((t_monitored - t_base) * 1e3 / elements);
    step.baselines.push_back(t_plain);
    step.values.push_back(t_watched);
    observed.baselines.push_back(t_plain);
    observed.values.push_back(t_observed);
  }
  return {backward, step, per_element, observed};
}

std::vector<Figure> hook_cost(const Options& opt) {
  Figure f{"hook_cost_backward", "us/backward", "hooks compiled out", {}, {},
           Target{Target::Of::Ratio, Target::Is::AtMost, 1.02}};
  const auto compiled_out = gradscope_nohooks::bench::plain_post_backward();
  const PostBackward compiled_in = plain_post_backward();
  for (int r = 0; r < opt.repeat; ++r) {
    f.baselines.push_back(micros_per_backward(compiled_out));
    f.values.push_back(micros_per_backward(compiled_in));
  }
  return {f};
}

std::vector<Figure> monitor_memory(const Options& opt) {
  if (opt.long_iterations <= 0) return {};
  const PostData data;
  GradscopePostNet net(data);
  MonitorOptions options;  // defaults: history every backward, 1024 entries
  options.logger = null_logger();
  GradientMonitor<double> monitor(options);
  net.graph().add_observer(monitor);
  for (int k = 0; k < 3; ++k) net.step();
  Figure allocs{"monitor_allocations_per_iteration", "allocs/iter", "without monitor", {}, {},
                Target{Target::Of::Value, Target::Is::AtMost, 0}};
  {
    GradscopePostNet plain(data);
    for (int k = 0; k < 3; ++k) plain.step();
    // Measured once the history has filled and decimated (3 + 1100 passes > 1024 entries).
    for (int k = 0; k < 1100; ++k) net.step();
    allocs.baselines.push_back(allocations_per_step(plain));
    allocs.values.push_back(allocations_per_step(net));
  }
  const std::string n0 = std::to_string(monitor.passes());
  const double at_start = double(monitor.memory_bytes());
  for (long long k = std::int64_t(monitor.passes()); k < opt.long_iterations; ++k) net.step();
  const std::string n = std::to_string(monitor.passes());
  return {allocs,
          {"monitor_bytes_after_" + n0 + "_passes", "bytes", "", {at_start}, {}, {}},
          {"monitor_bytes_after_" + n + "_passes", "bytes", "", {double(monitor.memory_bytes())}, {}, {}},
          {"monitor_history_entries_after_" + n, "entries", "", {double(monitor.history().size())}, {}, {}},
          {"monitor_history_every_after_" + n, "passes", "", {double(monitor.history_every())}, {}, {}}};
}

}  // namespace gradscope::bench
