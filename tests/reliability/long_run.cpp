// The post's third experiment as a long run, with the gradient monitor attached: the 10 x 2 ReLU
// network with w = 1.1·I and a sigmoid output, 1000 + 1000 points (means (2,3) and (17,10)),
// full-batch gradient descent with α = 0.01, a GradientMonitor logging every pass to a file.
//
//   gradscope_long_run ITERATIONS MAX_GROWTH_KIB LOG_FILE
//
// Prints the resident set size (VmRSS) and the monitor's heap bytes after the first iteration and
// at every tenth of the run; exits 1 if RSS grew by more than MAX_GROWTH_KIB from the first tenth
// to the end (the monitor's bounded history fills during the first 1024 passes). Under
// AddressSanitizer a short run of it is the LeakSanitizer check.
#include <cstdio>
#include <gradscope/instruments/monitor.hpp>
#include <gradscope/models/models.hpp>
#include <string>

#include "resident.hpp"  // bench/, shared with the benchmarks

using namespace gradscope;
using bench::resident_kib;

int main(int argc, char** argv) try {
  if (argc != 4) fail("usage: gradscope_long_run ITERATIONS MAX_GROWTH_KIB LOG_FILE");
  const long iterations = std::stol(argv[1]), max_growth = std::stol(argv[2]);
  if (iterations < 10) fail("ITERATIONS must be at least 10, got {}", iterations);

  models::TwoGaussians spec;
  spec.mean0 = Eigen::Vector2d(2, 3);
  spec.mean1 = Eigen::Vector2d(17, 10);
  spec.per_class = 1000;
  const models::Dataset data = models::two_gaussians(spec);
  models::PostNetworkSpec net_spec;
  net_spec.hidden_init = models::Init::scaled_identity(1.1);
  auto net = models::post_network<double>(net_spec);
  auto sgd = models::make_optimizer<double>("sgd", net.parameters(), 0.01);

  MonitorOptions options;
  options.logger = file_logger(argv[3]);
  GradientMonitor<double> monitor(options);
  Graph<double> g;
  g.add_observer(monitor);

  long rss_first = 0, rss_tenth = 0;
  double loss = 0;
  for (long it = 1; it <= iterations; ++it) {
    g.clear();
    const auto f = net.forward(g.constant(data.x, "x"));
    const auto l = models::binary_cross_entropy(f.output(), g.constant(data.y, "y"));
    sgd->zero_grad();
    g.backward(l);
    sgd->step();
    loss = l.item();
    if (it == 1 || it % (iterations / 10) == 0) {
      const long rss = resident_kib();
      if (it == 1) rss_first = rss;
      if (it == iterations / 10) rss_tenth = rss;
      fmt::print("iteration {:>7}: loss {:.6f}, RSS {} KiB, monitor {} bytes, graph {} nodes\n", it,
                 loss, rss, monitor.memory_bytes(), g.size());
    }
  }
  const long rss_end = resident_kib();
  fmt::print(
      "long run: {} iterations, RSS {} KiB after the first, {} KiB at a tenth, {} KiB at the "
      "end: {:+} KiB over the last nine tenths (allowed {}); final loss {:.6f}, accuracy "
      "{:.4f}\n",
      iterations, rss_first, rss_tenth, rss_end, rss_end - rss_tenth, max_growth, loss,
      models::accuracy(net, data));
  return rss_end - rss_tenth <= max_growth ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "gradscope_long_run: error: %s\n", e.what());
  return 2;
}
