// Built twice into gradscope_bench: against the engine as configured, and (see CMakeLists.txt)
// with GRADSCOPE_HOOKS=0 and -Dgradscope=gradscope_nohooks together with its own copy of the engine
// and of the seed workload. So "hooks compiled in, none registered" and "hooks compiled out" run in
// one process, interleaved, from one source: no twin of the backward loop or of this workload.
#include "backward_workload.hpp"

#include "seed_workload.hpp"

#if GRADSCOPE_HOOKS
#include <gradscope/autodiff/monitor.hpp>
#include <spdlog/sinks/null_sink.h>
#endif

namespace gradscope::bench {

namespace {

template <class Attach>
double timed_backward(int steps, double (*now)(), Attach&& attach) {
  const SeedData data;
  GradscopeSeedNet net(data);
  attach(net.graph());
  for (int k = 0; k < 3; ++k) net.step();  // warm-up: arenas, names, monitor storage
  double total = 0;
  for (int k = 0; k < steps; ++k) {
    const Var<double> loss = net.record();
    const double t0 = now();
    net.graph().backward(loss);
    total += now() - t0;
    net.update();
  }
  return total / steps * 1e6;
}

}  // namespace

double seed_backward_micros(int steps, double (*now)()) {
  return timed_backward(steps, now, [](Graph<double>&) {});
}

#if GRADSCOPE_HOOKS
double seed_backward_micros_monitored(int steps, double (*now)(), unsigned predict_every) {
  MonitorOptions options;
  options.predict_every = predict_every;
  options.logger = std::make_shared<spdlog::logger>(
      "bench", std::make_shared<spdlog::sinks::null_sink_st>());
  options.logger->set_level(spdlog::level::warn);
  GradientMonitor<double> monitor(options);  // outlives the graph inside timed_backward
  return timed_backward(steps, now, [&](Graph<double>& g) { g.add_observer(monitor); });
}
#endif

}  // namespace gradscope::bench
