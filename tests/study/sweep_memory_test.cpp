// study::cell_bytes against the peak resident memory of the cell's pass: never below it (a grid
// the CLI lets through must fit), and not far above it (a grid that fits must not be refused).
#include <gradscope/study/sweep.hpp>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

using gradscope::Graph;
using namespace gradscope::study;

namespace {
// A field of /proc/self/status in bytes ("VmRSS:", "VmHWM:").
double status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(field, 0) == 0) return 1024 * std::stod(line.substr(field.size()));
  return -1;
}

// Runs the cell (one seed) and compares cell_bytes with the growth of the resident memory's peak,
// which writing 5 to /proc/self/clear_refs resets to the resident memory now.
void check_estimate(Grid grid, CellSpec spec) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  WARN("a sanitizer's shadow memory and quarantine are resident too: skipped");
  return;
#endif
  grid.repeats = 1;
  spec.arch = grid.arch;
  spec.norm = grid.norm;
  INFO(spec.arch << " " << spec.norm << " " << spec.act << ", depth " << spec.depth << ", width "
                 << spec.width << ", " << grid.samples << " samples");
  std::ofstream("/proc/self/clear_refs") << "5";
  const double before = status_bytes("VmRSS:");
  REQUIRE(status_bytes("VmHWM:") < before + 4e6);  // the peak was reset
  Graph<double> g;
  run_cell(grid, spec, g);
  const double peak = status_bytes("VmHWM:") - before, estimate = cell_bytes(grid, spec);
  INFO("peak growth " << peak / 1e6 << " MB, estimate " << estimate / 1e6 << " MB");
  CHECK(estimate >= peak);
  CHECK(estimate <= 1.6 * peak);
}

Grid grid_of(const char* arch, const char* norm, long samples) {
  Grid g;
  g.arch = arch;
  g.norm = norm;
  g.samples = samples;
  return g;
}
}  // namespace

TEST_CASE("cell_bytes: an mlp's weights and its activations", "[sweep][memory]") {
  check_estimate(grid_of("mlp", "none", 8), {0, "", "", "relu", "he", 16, 512, 2, 0});
  check_estimate(grid_of("mlp", "none", 2048), {0, "", "", "tanh", "he", 16, 128, 2, 0});
}

TEST_CASE("cell_bytes: layer norm and residual blocks", "[sweep][memory]") {
  check_estimate(grid_of("mlp", "layer", 2048), {0, "", "", "relu", "he", 16, 128, 2, 0});
  check_estimate(grid_of("residual", "none", 8), {0, "", "", "relu", "he", 16, 512, 2, 0});
  check_estimate(grid_of("residual", "none", 2048), {0, "", "", "relu", "he", 16, 128, 2, 0});
  check_estimate(grid_of("residual", "layer", 2048), {0, "", "", "relu", "he", 16, 128, 2, 0});
}

TEST_CASE("cell_bytes: recurrent steps", "[sweep][memory]") {
  check_estimate(grid_of("rnn", "none", 8), {0, "", "", "tanh", "orthogonal", 40, 256, 1, 0});
  check_estimate(grid_of("rnn", "none", 2048), {0, "", "", "tanh", "orthogonal", 40, 64, 1, 0});
  check_estimate(grid_of("lstm", "none", 8), {0, "", "", "tanh", "orthogonal", 40, 128, 1, 0});
  check_estimate(grid_of("lstm", "none", 2048), {0, "", "", "tanh", "orthogonal", 20, 64, 1, 0});
}
