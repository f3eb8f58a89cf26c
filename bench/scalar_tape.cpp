// scalar_tape: the scalar tape's workload (scalar_tape.hpp) recorded and differentiated, against
// the same expression evaluated on plain doubles (no derivatives); recording and backward are
// timed apart, so that the overhead's two parts show.
#include "scalar_tape.hpp"

#include "benchmarks.hpp"

namespace gradscope::bench {

TapeNodes record_tape(Graph<double>& g) {
  g.clear();
  const auto acc = g.variable(kTapeAcc0, "acc");
  const auto y = g.variable(kTapeY, "y");
  return {acc, y, tape_expression(acc, y)};
}

TapeResult differentiate_tape(Graph<double>& g, const TapeNodes& tape) {
  g.backward(tape.out);
  return {tape.out.item(), g.node(tape.acc).grad()(0, 0), g.node(tape.y).grad()(0, 0)};
}

TapeResult gradscope_tape(Graph<double>& g) { return differentiate_tape(g, record_tape(g)); }

std::vector<Figure> scalar_tape(const Options& opt) {
  Figure time{"scalar_tape", "ns/op", "plain doubles, forward only", {}, {}, {}};
  // What the tape adds beyond the arithmetic: time minus the plain-doubles time of the same run.
  Figure overhead{"scalar_tape_overhead", "ns/op", "", {}, {},
                  Target{Target::Of::Value, Target::Is::AtMost, 5}};
  // Its two parts: recording minus the plain doubles, and the backward pass.
  Figure recording{"scalar_tape_recording_overhead", "ns/op", "", {}, {}, {}};
  Figure backward{"scalar_tape_backward", "ns/op", "", {}, {}, {}};
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
  TapeNodes tape = record_tape(g);
  TapeResult graph = differentiate_tape(g, tape);  // warm-up: the arenas reach full size
  double plain_value = 0;
  auto plain = [&] {
    double y = kTapeY;
    keep(y);  // y is unknown to the compiler, as in the graph
    plain_value = tape_expression(kTapeAcc0, y);
  };
  for (int r = 0; r < opt.repeat; ++r) {
    const double plain_ns = seconds(plain) * 1e9 / kTapeOps;
    const double record_ns = seconds([&] { tape = record_tape(g); }) * 1e9 / kTapeOps;
    const double backward_ns = seconds([&] {
      graph = differentiate_tape(g, tape);
      keep(graph);
    }) * 1e9 / kTapeOps;
    time.baselines.push_back(plain_ns);
    time.values.push_back(record_ns + backward_ns);
    overhead.values.push_back(record_ns + backward_ns - plain_ns);
    recording.values.push_back(record_ns - plain_ns);
    backward.values.push_back(backward_ns);
    bytes.values.push_back(double(g.bytes() - leaves_bytes) / kTapeOps);
  }
  if (graph.value != plain_value)
    fail("scalar_tape: graph computed {}, plain doubles {}", graph.value, plain_value);
  return {time, overhead, recording, backward, bytes};
}

}  // namespace gradscope::bench
