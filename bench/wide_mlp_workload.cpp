#include "wide_mlp_workload.hpp"

namespace gradscope::bench {

using M = Matrix<float>;

WideMlpData::WideMlpData(std::mt19937& rng) : x(kWideUnits[0], kWideBatch), y(M::Zero(kWideUnits[kWideLayers], kWideBatch)) {
  std::normal_distribution<float> normal;
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
  for (int j = 0; j < kWideBatch; ++j) y(j % kWideUnits[kWideLayers], j) = 1;
}

WideMlp::WideMlp(bool post_orientation, std::mt19937& rng) : post_orientation_(post_orientation) {
  std::normal_distribution<float> normal;
  for (int l = 0; l < kWideLayers; ++l) {
    const int in = kWideUnits[l], out = kWideUnits[l + 1];
    M w = post_orientation ? M(in, out) : M(out, in);
    for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = std::sqrt(2.0f / in) * normal(rng);
    params_.emplace_back(std::move(w), "w");
    params_.emplace_back(M::Zero(out, 1), "b");
  }
}

M WideMlp::w_out_in(int l) const { return post_orientation_ ? M(w(l).transpose()) : w(l); }

float WideMlp::step(const WideMlpData& data) {
  g_.clear();
  auto a = g_.constant(data.x, "x");
  Var<float> z;
  for (int l = 0; l < kWideLayers; ++l) {
    const auto w = g_.param(params_[2 * l]);
    z = (post_orientation_ ? matmul(transpose(w), a) : matmul(w, a)) + g_.param(params_[2 * l + 1]);
    if (l + 1 < kWideLayers) a = relu(z);
  }
  const auto loss = bce_with_logits(z, g_.constant(data.y, "y"));
  g_.backward(loss);
  for (auto& p : params_) {
    p.value() -= kWideRate * p.grad();
    p.zero_grad();
  }
  return loss.item();
}

}  // namespace gradscope::bench
