#pragma once
// The scalar tape's workload, shared by scalar_tape (gradscope against plain doubles) and
// scalar_tape_adolc (gradscope against ADOL-C): a micrograd-style expression of 10⁶ scalar ops,
// acc ← acc + exp(tanh(acc · y)) repeated. One mul, tanh, exp and add per step, each depending on
// the last, so no side can vectorise or hoist it; y is small so that the values and the
// derivatives stay moderate over 250,000 steps.
#include <cmath>

#include <gradscope/autodiff/functions.hpp>

namespace gradscope::bench {

inline constexpr int kTapeSteps = 250'000;
inline constexpr double kTapeOps = double(kTapeSteps) * 4;
inline constexpr double kTapeAcc0 = 0.5, kTapeY = 1e-6;

// The expression on doubles, gradscope's Var or another tool's active type.
template <class T>
T tape_expression(T acc, const T& y) {
  using std::exp;
  using std::tanh;
  for (int k = 0; k < kTapeSteps; ++k) acc = acc + exp(tanh(acc * y));
  return acc;
}

// The result and its derivatives with respect to acc's start and y.
struct TapeResult {
  double value, d_acc, d_y;
};

// The expression's leaves and its value in a graph.
struct TapeNodes {
  Var<double> acc, y, out;
};

// Records the expression in g (cleared first) from two named leaves.
TapeNodes record_tape(Graph<double>& g);
// Differentiates what record_tape recorded in g.
TapeResult differentiate_tape(Graph<double>& g, const TapeNodes& tape);
// Both.
TapeResult gradscope_tape(Graph<double>& g);

}  // namespace gradscope::bench
