// Built twice into gradscope_bench: against the engine as configured, and (see CMakeLists.txt)
// with GRADSCOPE_HOOKS=0 and -Dgradscope=gradscope_nohooks together with its own copy of the engine
// and of the post workload. So "hooks compiled in, none registered" and "hooks compiled out" run in
// one process, interleaved, from one source: no twin of the backward loop or of this workload.
#include "backward_workload.hpp"

#include <memory>
#include <optional>

#include "post_workload.hpp"

#if GRADSCOPE_HOOKS
#include <gradscope/instruments/monitor.hpp>
#include <spdlog/sinks/null_sink.h>
#endif

namespace gradscope::bench {

namespace {

struct Timed {
  const PostData data;
#if GRADSCOPE_HOOKS
  std::optional<GradientMonitor<double>> monitor;  // before the net: it outlives the net's graph
#endif
  GradscopePostNet net{data};

  double step(double (*now)()) {
    const Var<double> loss = net.record();
    const double t0 = now();
    net.graph().backward(loss);
    const double t = now() - t0;
    net.update();
    return t * 1e6;
  }
};

PostBackward warmed_up(std::shared_ptr<Timed> t) {
  for (int k = 0; k < 3; ++k) t->net.step();  // arenas, names, monitor storage
  return [t](double (*now)()) { return t->step(now); };
}

}  // namespace

PostBackward plain_post_backward() { return warmed_up(std::make_shared<Timed>()); }

#if GRADSCOPE_HOOKS
PostBackward monitored_post_backward() {
  MonitorOptions options;
  options.logger = std::make_shared<spdlog::logger>(
      "bench", std::make_shared<spdlog::sinks::null_sink_st>());
  options.logger->set_level(spdlog::level::warn);
  auto t = std::make_shared<Timed>();
  t->net.graph().add_observer(t->monitor.emplace(options));
  return warmed_up(std::move(t));
}
#endif

}  // namespace gradscope::bench
