// wide_mlp: one training step of a 784-512-512-10 ReLU MLP on a batch of 256, float32, against
// the same step's matrix products alone (forward z = wᵀa, backward dw = a dzᵀ and da = w dz),
// computed by Eigen into preallocated matrices.
#include <random>

#include <gradscope/autodiff/functions.hpp>

#include "benchmarks.hpp"

namespace gradscope::bench {

namespace {
constexpr int kBatch = 256;
constexpr int kUnits[] = {784, 512, 512, 10};
constexpr int kLayers = 3;
using M = Matrix<float>;
}  // namespace

std::vector<Figure> wide_mlp(const Options& opt) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  auto random = [&](int r, int c, float s) {
    M m(r, c);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = s * normal(rng);
    return m;
  };
  const M x = random(kUnits[0], kBatch, 1);
  M y = M::Zero(kUnits[kLayers], kBatch);
  for (int j = 0; j < kBatch; ++j) y(j % kUnits[kLayers], j) = 1;
  std::vector<Parameter<float>> params;
  for (int l = 0; l < kLayers; ++l) {
    params.emplace_back(random(kUnits[l], kUnits[l + 1], std::sqrt(2.0f / kUnits[l])), "w");
    params.emplace_back(M::Zero(kUnits[l + 1], 1), "b");
  }

  Graph<float> g;
  auto step = [&] {
    g.clear();
    auto a = g.constant(x, "x");
    Var<float> z;
    for (int l = 0; l < kLayers; ++l) {
      z = matmul(transpose(g.param(params[2 * l])), a) + g.param(params[2 * l + 1]);
      if (l + 1 < kLayers) a = relu(z);
    }
    g.backward(bce_with_logits(z, g.constant(y, "y")));
    for (auto& p : params) {
      p.value() -= 1e-3f * p.grad();
      p.zero_grad();
    }
  };

  // The products alone, on the same shapes: forward z_l = w_lᵀ a_{l-1}; backward dw_l = a_{l-1} dz_lᵀ
  // and, above the first layer, da_{l-1} = w_l dz_l. Values are the step's own (a, dz random).
  std::vector<M> act{x}, dz, dw, da;
  for (int l = 0; l < kLayers; ++l) {
    act.push_back(M(kUnits[l + 1], kBatch));
    dz.push_back(random(kUnits[l + 1], kBatch, 1));
    dw.push_back(M(kUnits[l], kUnits[l + 1]));
    da.push_back(M(kUnits[l], kBatch));
  }
  auto products = [&] {
    for (int l = 0; l < kLayers; ++l)
      act[l + 1].noalias() = params[2 * l].value().transpose() * act[l];
    for (int l = kLayers - 1; l >= 0; --l) {
      dw[l].noalias() = act[l] * dz[l].transpose();
      if (l > 0) da[l].noalias() = params[2 * l].value() * dz[l];
    }
    keep(dw[0](0, 0));
  };

  Figure f{"wide_mlp", "ms/step", "its matrix products alone", {}, {},
           Target{Target::Of::Ratio, Target::Is::AtMost, 1.15}};
  step();  // warm-up
  products();
  for (int r = 0; r < opt.repeat; ++r) {
    f.baselines.push_back(seconds(products) * 1e3);
    f.values.push_back(seconds(step) * 1e3);
  }
  return {f};
}

}  // namespace gradscope::bench
