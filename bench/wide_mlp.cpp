// wide_mlp: one training step of a 784-512-512-10 ReLU MLP on a batch of 256, float32, against
// the same step's matrix products alone, computed by Eigen into preallocated matrices.
//
// Two weight orientations, as models::Dense offers: W out x in with z = W a + b (the usual one,
// the main figure), and the seed's w in x out with z = wᵀa + b, which records a transpose node
// and so copies every weight matrix forward and back (wide_mlp_seed_orientation).
#include <random>

#include <gradscope/autodiff/functions.hpp>

#include "benchmarks.hpp"

namespace gradscope::bench {

namespace {

constexpr int kBatch = 256;
constexpr int kUnits[] = {784, 512, 512, 10};
constexpr int kLayers = 3;
using M = Matrix<float>;

struct WideMlp {
  bool seed_orientation;
  std::vector<Parameter<float>> params;  // w1, b1, w2, b2, w3, b3
  Graph<float> g;

  WideMlp(bool seed, std::mt19937& rng) : seed_orientation(seed) {
    std::normal_distribution<float> normal;
    for (int l = 0; l < kLayers; ++l) {
      const int in = kUnits[l], out = kUnits[l + 1];
      M w = seed ? M(in, out) : M(out, in);
      for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = std::sqrt(2.0f / in) * normal(rng);
      params.emplace_back(std::move(w), "w");
      params.emplace_back(M::Zero(out, 1), "b");
    }
  }
  const M& w(int l) const { return params[2 * l].value(); }

  void step(const M& x, const M& y) {
    g.clear();
    auto a = g.constant(x, "x");
    Var<float> z;
    for (int l = 0; l < kLayers; ++l) {
      const auto w = g.param(params[2 * l]);
      z = (seed_orientation ? matmul(transpose(w), a) : matmul(w, a)) + g.param(params[2 * l + 1]);
      if (l + 1 < kLayers) a = relu(z);
    }
    g.backward(bce_with_logits(z, g.constant(y, "y")));
    for (auto& p : params) {
      p.value() -= 1e-3f * p.grad();
      p.zero_grad();
    }
  }
};

}  // namespace

std::vector<Figure> wide_mlp(const Options& opt) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  auto random = [&](int r, int c) {
    M m(r, c);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
    return m;
  };
  const M x = random(kUnits[0], kBatch);
  M y = M::Zero(kUnits[kLayers], kBatch);
  for (int j = 0; j < kBatch; ++j) y(j % kUnits[kLayers], j) = 1;
  WideMlp usual(false, rng), seed(true, rng);

  // The products alone, on the same shapes (W out x in): forward z_l = W_l a_{l-1}; backward
  // dW_l = dz_l a_{l-1}ᵀ and, above the first layer, da_{l-1} = W_lᵀ dz_l.
  std::vector<M> act{x}, dz, dw, da;
  for (int l = 0; l < kLayers; ++l) {
    act.push_back(M(kUnits[l + 1], kBatch));
    dz.push_back(random(kUnits[l + 1], kBatch));
    dw.push_back(M(kUnits[l + 1], kUnits[l]));
    da.push_back(M(kUnits[l], kBatch));
  }
  auto products = [&] {
    for (int l = 0; l < kLayers; ++l) act[l + 1].noalias() = usual.w(l) * act[l];
    for (int l = kLayers - 1; l >= 0; --l) {
      dw[l].noalias() = dz[l] * act[l].transpose();
      if (l > 0) da[l].noalias() = usual.w(l).transpose() * dz[l];
    }
    keep(dw[0](0, 0));
  };

  Figure f{"wide_mlp", "ms/step", "its matrix products alone", {}, {},
           Target{Target::Of::Ratio, Target::Is::AtMost, 1.15}};
  Figure s{"wide_mlp_seed_orientation", "ms/step", "its matrix products alone", {}, {}, {}};
  usual.step(x, y);  // warm-up: arenas reach full size
  seed.step(x, y);
  products();
  for (int r = 0; r < opt.repeat; ++r) {
    const double base = seconds(products) * 1e3;
    f.baselines.push_back(base);
    s.baselines.push_back(base);
    f.values.push_back(seconds([&] { usual.step(x, y); }) * 1e3);
    s.values.push_back(seconds([&] { seed.step(x, y); }) * 1e3);
  }
  return {f, s};
}

}  // namespace gradscope::bench
