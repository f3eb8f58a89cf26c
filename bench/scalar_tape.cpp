// scalar_tape: the scalar tape's workload (scalar_tape.hpp) recorded and differentiated, against
// the same expression evaluated on plain doubles (no derivatives).
#include "scalar_tape.hpp"

#include "benchmarks.hpp"

namespace gradscope::bench {

TapeResult gradscope_tape(Graph<double>& g) {
  g.clear();
  const auto acc = g.variable(kTapeAcc0, "acc");
  const auto y = g.variable(kTapeY, "y");
  const auto out = tape_expression(acc, y);
  g.backward(out);
  return {out.item(), g.node(acc).grad()(0, 0), g.node(y).grad()(0, 0)};
}

std::vector<Figure> scalar_tape(const Options& opt) {
  Figure time{"scalar_tape", "ns/op", "plain doubles, forward only", {}, {}, {}};
  // What the tape adds beyond the arithmetic: time minus the plain-doubles time of the same run.
  Figure overhead{"scalar_tape_overhead", "ns/op", "", {}, {},
                  Target{Target::Of::Value, Target::Is::AtMost, 5}};
  Figure bytes{"scalar_tape_bytes", "bytes/op", "", {}, {},
               Target{Target::Of::Value, Target::Is::AtMost, 32}};
  // The two named leaves, with their gradients: per graph, not per op.
  const std::size_t leaves_bytes = [] {
    Graph<double> leaves;
    const auto acc = leaves.variable(kTapeAcc0, "acc");
    leaves.variable(kTapeY, "y");
    leaves.backward(acc);
    return leaves.bytes();
  }();
  Graph<double> g;
  TapeResult graph{};
  double plain_value = 0;
  auto record_and_differentiate = [&] {
    graph = gradscope_tape(g);
    keep(graph);
  };
  auto plain = [&] {
    double y = kTapeY;
    keep(y);  // y is unknown to the compiler, as in the graph
    plain_value = tape_expression(kTapeAcc0, y);
  };
  record_and_differentiate();  // warm-up: the arenas reach full size
  for (int r = 0; r < opt.repeat; ++r) {
    time.baselines.push_back(seconds(plain) * 1e9 / kTapeOps);
    time.values.push_back(seconds(record_and_differentiate) * 1e9 / kTapeOps);
    overhead.values.push_back(time.values.back() - time.baselines.back());
    bytes.values.push_back(double(g.bytes() - leaves_bytes) / kTapeOps);
  }
  if (graph.value != plain_value)
    fail("scalar_tape: graph computed {}, plain doubles {}", graph.value, plain_value);
  return {time, overhead, bytes};
}

}  // namespace gradscope::bench
