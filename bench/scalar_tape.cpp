// scalar_tape: a micrograd-style expression of 10⁶ scalar ops, recorded and differentiated,
// against the same expression evaluated on plain doubles (no derivatives).
//
// The expression is acc ← acc + exp(tanh(acc · y)), repeated: one mul, tanh, exp and add per
// step, each depending on the last, so neither side can be vectorised or hoisted. y is small so
// that the values and the derivatives stay moderate over 250,000 steps.
#include <cmath>

#include <gradscope/autodiff/functions.hpp>

#include "benchmarks.hpp"

namespace gradscope::bench {

namespace {
constexpr int kSteps = 250'000;
constexpr int kOpsPerStep = 4;
constexpr double kOps = double(kSteps) * kOpsPerStep;
constexpr double kAcc0 = 0.5, kY = 1e-6;
}  // namespace

std::vector<Figure> scalar_tape(const Options& opt) {
  Figure time{"scalar_tape", "ns/op", "plain doubles, forward only", {}, {},
              Target{Target::Of::Value, Target::Is::AtMost, 5}};
  // What the tape adds beyond the arithmetic: time minus the plain-doubles time of the same run.
  Figure overhead{"scalar_tape_overhead", "ns/op", "", {}, {}, {}};
  Figure bytes{"scalar_tape_bytes", "bytes/op", "", {}, {},
               Target{Target::Of::Value, Target::Is::AtMost, 32}};
  // The two named leaves, with their gradients: per graph, not per op.
  const std::size_t leaves_bytes = [] {
    Graph<double> leaves;
    const auto acc = leaves.variable(kAcc0, "acc");
    leaves.variable(kY, "y");
    leaves.backward(acc);
    return leaves.bytes();
  }();
  Graph<double> g;
  double graph_value = 0, plain_value = 0;
  auto record_and_differentiate = [&] {
    g.clear();
    auto acc = g.variable(kAcc0, "acc");
    const auto y = g.variable(kY, "y");
    for (int k = 0; k < kSteps; ++k) acc = acc + exp(tanh(acc * y));
    g.backward(acc);
    graph_value = acc.item();
    keep(g.node(y).grad()(0, 0));
  };
  auto plain = [&] {
    double acc = kAcc0, y = kY;
    keep(y);  // y is unknown to the compiler, as in the graph
    for (int k = 0; k < kSteps; ++k) acc = acc + std::exp(std::tanh(acc * y));
    plain_value = acc;
  };
  record_and_differentiate();  // warm-up: the arenas reach full size
  for (int r = 0; r < opt.repeat; ++r) {
    time.baselines.push_back(seconds(plain) * 1e9 / kOps);
    time.values.push_back(seconds(record_and_differentiate) * 1e9 / kOps);
    overhead.values.push_back(time.values.back() - time.baselines.back());
    bytes.values.push_back(double(g.bytes() - leaves_bytes) / kOps);
  }
  if (graph_value != plain_value)
    fail("scalar_tape: graph computed {}, plain doubles {}", graph_value, plain_value);
  return {time, overhead, bytes};
}

}  // namespace gradscope::bench
