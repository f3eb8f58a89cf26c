#include "post_workload.hpp"

#include <cmath>
#include <random>

namespace gradscope::bench {

PostData::PostData() : x(2, 2 * kPerClass), y(1, 2 * kPerClass) {
  // NumPy's s = randn(n, 2) R + mu with R the (lower) Cholesky factor of [[1, 0.5], [1.5, 3]].
  const double r10 = 1.5, r11 = std::sqrt(3.0 - r10 * r10);
  std::mt19937_64 rng(20261124);
  std::normal_distribution<double> normal;
  for (int j = 0; j < 2 * kPerClass; ++j) {
    const bool second = j >= kPerClass;
    const double n0 = normal(rng), n1 = normal(rng);
    x(0, j) = n0 + r10 * n1 + (second ? 17.0 : 2.0);
    x(1, j) = r11 * n1 + (second ? 10.0 : 3.0);
    y(0, j) = second ? 1.0 : 0.0;
  }
}

namespace {
// Layer l (0-based) maps in_units(l) to out_units(l): 2 -> 2 everywhere but the 2 -> 1 output.
int out_units(int l) { return l + 1 < kPostLayers ? 2 : 1; }
Matrix<double> initial_w(int l) {
  return l + 1 < kPostLayers ? Matrix<double>(1.1 * Matrix<double>::Identity(2, 2))
                             : Matrix<double>(Matrix<double>::Ones(2, 1));
}
}  // namespace

GradscopePostNet::GradscopePostNet(const PostData& data, bool fused) : data_(data), fused_(fused) {
  params_.reserve(2 * kPostLayers);
  for (int l = 0; l < kPostLayers; ++l) {
    params_.emplace_back(initial_w(l), "w");
    params_.emplace_back(Matrix<double>::Zero(out_units(l), 1), "b");
    scopes_[l] = "layer" + std::to_string(l + 1);
  }
}

double GradscopePostNet::step() {
  const Var<double> loss = record();
  g_.backward(loss);
  update();
  return loss.item();
}

Var<double> GradscopePostNet::record() {
  g_.clear();
  Var<double> a = g_.constant(data_.x, "x");
  const Var<double> y = g_.constant(data_.y, "y");
  Var<double> loss;
  for (int l = 0; l < kPostLayers; ++l) {
    auto scope = g_.scope(scopes_[l]);
    const auto w = g_.param(params_[2 * l]);
    const auto b = g_.param(params_[2 * l + 1]);
    const auto z = (matmul(transpose(w), a) + b).named("z");
    if (l + 1 < kPostLayers)
      a = relu(z).named("a");
    else
      loss = fused_ ? bce_with_logits(z, y) : bce(sigmoid(z).named("a"), y);
  }
  return loss;
}

void GradscopePostNet::update() {
  for (auto& p : params_) {
    p.value() -= kPostRate * p.grad();
    p.zero_grad();
  }
}

}  // namespace gradscope::bench
