#pragma once
// The seed's deep narrow network built by hand from the engine's ops, following the project's
// naming convention: layer l records its nodes in scope "layer<l>", parameters "w" and "b",
// pre-activation "z", activation "a"; z = wᵀa + b with w in x out; w = scale·I (last layer
// [1,1]ᵀ), b = 0; binary cross-entropy averaged over the samples.
#include <cmath>
#include <gradscope/autodiff/autodiff.hpp>
#include <random>
#include <vector>

namespace gradscope::test {

// The seed's data: points per class from two Gaussians with means (2,3) and (7,6), covariance
// through the Cholesky factor of [[1,0.5],[1.5,3]] (NumPy reads its lower triangle); x is 2 x 2n
// (features x samples), y is 1 x 2n with labels 0 then 1.
struct SeedData {
  Matrix<double> x, y;
};

inline SeedData seed_data(int per_class, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  const double l10 = 1.5, l11 = std::sqrt(3.0 - 1.5 * 1.5);  // lower Cholesky factor, l00 = 1
  SeedData d{Matrix<double>(2, 2 * per_class), Matrix<double>(1, 2 * per_class)};
  for (int j = 0; j < 2 * per_class; ++j) {
    const bool second = j >= per_class;
    const double z0 = normal(rng), z1 = normal(rng);  // the row [z0 z1] times the factor
    d.x(0, j) = (second ? 7.0 : 2.0) + z0 + l10 * z1;
    d.x(1, j) = (second ? 6.0 : 3.0) + l11 * z1;
    d.y(0, j) = second ? 1.0 : 0.0;
  }
  return d;
}

enum class Hidden { Sigmoid, Relu };

// Records the network on g and returns the loss. Parameters are appended to params, which must
// outlive every use of g's nodes.
inline Var<double> seed_network(Graph<double>& g, std::vector<Parameter<double>>& params,
                                const SeedData& data, int depth, Hidden hidden,
                                double scale = 0.8) {
  auto a = g.constant(data.x, "x");
  for (int l = 1; l <= depth; ++l) {
    const bool last = l == depth;
    auto s = g.scope(fmt::format("layer{}", l));
    auto w =
        g.param(params.emplace_back(last ? Matrix<double>(Matrix<double>::Ones(2, 1))
                                         : Matrix<double>(scale * Matrix<double>::Identity(2, 2)),
                                    "w"));
    auto b = g.param(params.emplace_back(Matrix<double>::Zero(last ? 1 : 2, 1), "b"));
    auto z = (matmul(transpose(w), a) + b).named("z");
    a = (last || hidden == Hidden::Sigmoid ? sigmoid(z) : relu(z)).named("a");
  }
  return bce(a, g.constant(data.y, "y")).named("loss");
}

}  // namespace gradscope::test
