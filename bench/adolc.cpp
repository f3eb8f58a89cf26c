// scalar_tape_adolc: the scalar tape's workload (scalar_tape.hpp) in gradscope against ADOL-C
// (Debian: libadolc-dev), each recording the expression anew and differentiating it every
// evaluation. ADOL-C tapes with its Taylor stack kept (trace_on's keep = 1) and its buffers large
// enough that the tape stays in memory, then runs one reverse sweep (fos_reverse): its fastest
// way to one gradient of a freshly taped function, as gradscope's record-then-backward is.
#include <adolc/adolc.h>

#include <cmath>

#include "benchmarks.hpp"
#include "scalar_tape.hpp"

namespace gradscope::bench {

namespace {

constexpr short kTag = 1;
// Buffer sizes in elements, above what the expression's tape needs (ADOL-C's tapestats: 2.0 M
// operations, 4.75 M locations, 0.75 M values, 2.0 M Taylor entries for the 10⁶ ops) so that
// nothing goes to tape files; adolc_tape fails if something did.
constexpr unsigned kOperations = 2'500'000, kLocations = 6'000'000, kValues = 1'000'000,
                   kTaylors = 2'500'000;

TapeResult adolc_tape() {
  trace_on(kTag, 1, kOperations, kLocations, kValues, kTaylors);
  adouble acc, y;
  acc <<= kTapeAcc0;
  y <<= kTapeY;
  adouble out = tape_expression(acc, y);
  double value = 0;
  out >>= value;
  trace_off();
  std::size_t stats[STAT_SIZE];
  tapestats(kTag, stats);
  if (stats[OP_FILE_ACCESS] || stats[LOC_FILE_ACCESS] || stats[VAL_FILE_ACCESS])
    fail("scalar_tape_adolc: ADOL-C wrote its tape to files ({} operations, {} locations, {} "
         "values): its buffers in bench/adolc.cpp are too small",
         stats[NUM_OPERATIONS], stats[NUM_LOCATIONS], stats[NUM_VALUES]);
  double weight = 1, gradient[2];
  fos_reverse(kTag, 1, 2, &weight, gradient);
  return {value, gradient[0], gradient[1]};
}

bool close(double a, double b) { return std::abs(a - b) <= 1e-12 * std::abs(b); }

}  // namespace

std::vector<Figure> scalar_tape_adolc(const Options& opt) {
  // GRADSCOPE_ADOLC_VERSION: pkg-config's (bench/CMakeLists.txt); ADOL-C's headers have none.
  Figure f{"scalar_tape_adolc", "ns/op",
           "ADOL-C " GRADSCOPE_ADOLC_VERSION ", taped each evaluation; ratio = speed-up", {}, {},
           Target{Target::Of::Ratio, Target::Is::AtLeast, 4}};
  f.speedup = true;
  Graph<double> g;
  TapeResult ours{}, theirs{};
  ours = gradscope_tape(g);  // warm-up: gradscope's arenas and ADOL-C's heap reach full size
  for (int k = 0; k < 3; ++k) theirs = adolc_tape();
  for (int r = 0; r < opt.repeat; ++r) {
    f.baselines.push_back(seconds([&] { theirs = adolc_tape(); }) * 1e9 / kTapeOps);
    f.values.push_back(seconds([&] { ours = gradscope_tape(g); }) * 1e9 / kTapeOps);
  }
  if (!close(ours.value, theirs.value) || !close(ours.d_acc, theirs.d_acc) ||
      !close(ours.d_y, theirs.d_y))
    fail("scalar_tape_adolc: gradscope computed {} (d/d acc {}, d/d y {}), ADOL-C {} ({}, {})",
         ours.value, ours.d_acc, ours.d_y, theirs.value, theirs.d_acc, theirs.d_y);
  return {f};
}

}  // namespace gradscope::bench
