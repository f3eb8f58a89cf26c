#pragma once
// The post's training workload (DESIGN.md, demo 3): two Gaussian clusters of 1000 points
// (means (2,3) and (17,10), covariance through the Cholesky factor of [[1,0.5],[1.5,3]]),
// a 10-layer net of 2 units (w = 1.1·I, b = 0, last layer w = [1,1]ᵀ), ReLU hidden layers,
// sigmoid output with binary cross-entropy, full-batch gradient descent with α = 0.01, double.
//
// The step through a gradscope graph; post_loops.hpp has it hand-written, the baselines.
#include <gradscope/autodiff/functions.hpp>

#include <array>
#include <string>
#include <vector>

#include "harness.hpp"

namespace gradscope::bench {

struct PostData {
  static constexpr int kPerClass = 1000;
  Matrix<double> x;  // 2 x m, features x samples
  Matrix<double> y;  // 1 x m, labels 0/1
  PostData();        // fixed random seed: every run trains on the same points
};

inline constexpr int kPostLayers = 10;
inline constexpr double kPostRate = 0.01;
inline constexpr int kPostSteps = 100;  // training steps per timed repetition, in a row

// Microseconds per step of net (anything with step()), over kPostSteps steps in a row
// (micros_per_call, harness.hpp).
template <class Net>
double micros_per_step(Net& net) {
  return micros_per_call(kPostSteps, [&] { net.step(); });
}

// Heap allocations per step of net, over kPostSteps steps (allocation_count, process.hpp).
template <class Net>
double allocations_per_step(Net& net) {
  const auto before = allocation_count();
  for (int k = 0; k < kPostSteps; ++k) net.step();
  return double(allocation_count() - before) / kPostSteps;
}

// gradscope: layer l records matmul(transpose(w), a) + b in scope "layer<l>" with nodes "w", "b",
// "z", "a" (the project's naming convention). The output's sigmoid and the cross-entropy are
// either the fused bce_with_logits op, whose gradient is the post's dz = a - y, or (fused = false)
// a sigmoid node "a" followed by bce, as written in the post.
class GradscopePostNet {
 public:
  GradscopePostNet(const PostData& data, bool fused = true);
  double step();         // record(), backward, update(); returns the loss
  Var<double> record();  // clears the graph and records the forward pass; returns the loss node
  void update();         // one gradient-descent step on the accumulated gradients, then zero them
  Graph<double>& graph() { return g_; }
  const std::vector<Parameter<double>>& params() const { return params_; }

 private:
  const PostData& data_;
  bool fused_;
  Graph<double> g_;
  std::vector<Parameter<double>> params_;  // w1, b1, w2, b2, ...
  std::array<std::string, kPostLayers> scopes_;
};

}  // namespace gradscope::bench
