#pragma once
// Layer stacks built by hand with the engine's ops, in the post's orientation and the models'
// naming convention: scope "layer<l>", parameters "w" (in x out) and "b" (out x 1), nodes "z" and "a",
// z = wᵀa + b. Used by the monitor and diagnosis tests.
#include <gradscope/autodiff/autodiff.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace gradscope::testing {

struct LayerStack {
  std::vector<Parameter<double>> w, b;
  std::vector<std::string> act;  // per layer: "relu", "sigmoid" or "identity"

  int depth() const { return int(w.size()); }
  void add(Matrix<double> weight, std::string activation) {
    const auto out = weight.cols();
    w.emplace_back(std::move(weight), "w");
    b.emplace_back(Matrix<double>::Zero(out, 1), "b");
    act.push_back(std::move(activation));
  }

  // Records the forward pass on x (features x samples) and returns the last activation.
  Var<double> forward(Graph<double>& g, const Matrix<double>& x) {
    auto a = g.constant(x, "x");
    for (int l = 1; l <= depth(); ++l) {
      auto s = g.scope("layer" + std::to_string(l));
      auto z = (matmul(transpose(g.param(w[l - 1])), a) + g.param(b[l - 1])).named("z");
      const std::string& f = act[l - 1];
      // identity records no node "a", as models/ does
      a = f == "identity" ? z : (f == "relu" ? relu(z) : sigmoid(z)).named("a");
    }
    return a;
  }
};

// The post's demo net: depth-1 square layers of width 2 with w = scale·I and activation act, then
// an output layer w = [1,1]ᵀ with activation out_act.
inline LayerStack post_net(int depth, double scale, const std::string& act,
                           const std::string& out_act) {
  LayerStack s;
  for (int l = 1; l < depth; ++l) s.add(scale * Matrix<double>::Identity(2, 2), act);
  s.add(Matrix<double>::Ones(2, 1), out_act);
  return s;
}

// The post's data: two Gaussian clusters, covariance through the Cholesky factor of
// [[1,0.5],[1.5,3]] (lower triangle, as numpy reads it), labels 0 then 1, from a fixed seed.
struct Points {
  Matrix<double> x, y;
};
inline Points post_points(int per_class, double mx2, double my2, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n01;
  const double l11 = 1, l21 = 1.5, l22 = std::sqrt(3 - 1.5 * 1.5);
  Points p{Matrix<double>(2, 2 * per_class), Matrix<double>(1, 2 * per_class)};
  for (int j = 0; j < 2 * per_class; ++j) {
    const bool second = j >= per_class;
    const double u = n01(rng), v = n01(rng);
    // numpy's s = randn(n, 2) @ L + mu: the row [u v] times the lower factor L
    p.x(0, j) = (second ? mx2 : 2.0) + u * l11 + v * l21;
    p.x(1, j) = (second ? my2 : 3.0) + v * l22;
    p.y(0, j) = second ? 1 : 0;
  }
  return p;
}

// Gaussian weights, std given, for the wide-network tests.
inline Matrix<double> gaussian(int rows, int cols, double std, std::mt19937_64& rng) {
  std::normal_distribution<double> n(0, std);
  Matrix<double> m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m(i) = n(rng);
  return m;
}

}  // namespace gradscope::testing
