// wide_mlp: one training step of the 784-512-512-10 MLP (wide_mlp_workload.hpp) against the same
// step's matrix products alone, computed by the library's general product (ops/product.hpp:
// OpenBLAS in a build on it, else Eigen's own) into preallocated matrices. The main figure uses the
// usual W out x in orientation, wide_mlp_post_orientation the post's w in x out.
// wide_mlp_threads: the same step with its large products on all threads (OpenBLAS's or Eigen's;
// as many as Eigen's default, OMP_NUM_THREADS or one per core) against one thread, in wall time.
#include <fmt/format.h>
#include <gradscope/ops/product.hpp>

#include "benchmarks.hpp"
#include "wide_mlp_workload.hpp"

namespace gradscope::bench {

std::vector<Figure> wide_mlp(const Options& opt) {
  using M = Matrix<float>;
  std::mt19937 rng(7);
  const WideMlpData data(rng);
  WideMlp usual(false, rng), post(true, rng);

  // The products alone, on the same shapes (W out x in): forward z_l = W_l a_{l-1}; backward
  // dW_l = dz_l a_{l-1}ᵀ and, above the first layer, da_{l-1} = W_lᵀ dz_l.
  std::normal_distribution<float> normal;
  std::vector<M> act{data.x}, dz, dw, da;
  for (int l = 0; l < kWideLayers; ++l) {
    act.push_back(M(kWideUnits[l + 1], kWideBatch));
    dz.push_back(M::NullaryExpr(kWideUnits[l + 1], kWideBatch, [&] { return normal(rng); }));
    dw.push_back(M(kWideUnits[l + 1], kWideUnits[l]));
    da.push_back(M(kWideUnits[l], kWideBatch));
  }
  auto mul = [](bool ta, const M& a, bool tb, const M& b, M& out) {
    MatrixMap<float> o(out.data(), out.rows(), out.cols());
    ops::product<float>(ta, ConstMatrixMap<float>(a.data(), a.rows(), a.cols()), tb,
                        ConstMatrixMap<float>(b.data(), b.rows(), b.cols()), o, false);
  };
  auto products = [&] {
    for (int l = 0; l < kWideLayers; ++l) mul(false, usual.w(l), false, act[l], act[l + 1]);
    for (int l = kWideLayers - 1; l >= 0; --l) {
      mul(false, dz[l], true, act[l], dw[l]);
      if (l > 0) mul(true, usual.w(l), false, dz[l], da[l]);
    }
    keep(dw[0](0, 0));
  };

  Figure f{"wide_mlp", "ms/step", "its matrix products alone", {}, {},
           Target{Target::Of::Ratio, Target::Is::AtMost, 1.15}};
  Figure s{"wide_mlp_post_orientation", "ms/step", "its matrix products alone", {}, {}, {}};
  usual.step(data);  // warm-up: arenas reach full size
  post.step(data);
  products();
  for (int r = 0; r < opt.repeat; ++r) {
    const double base = seconds(products) * 1e3;
    f.baselines.push_back(base);
    s.baselines.push_back(base);
    f.values.push_back(seconds([&] { usual.step(data); }) * 1e3);
    s.values.push_back(seconds([&] { post.step(data); }) * 1e3);
  }
  Eigen::setNbThreads(0);  // Eigen's own count: OMP_NUM_THREADS, else one per core
  const int threads = Eigen::nbThreads();
  ops::set_product_threads(1);
  if (threads == 1) return {f, s};

  const std::string one = fmt::format("one thread (value: {} threads; wall time)", threads);
  Figure t{"wide_mlp_threads", "ms/step", one, {}, {}, {}};
  auto wall_step = [&](int n) {
    ops::set_product_threads(n);
    const double ms = wall_seconds([&] { usual.step(data); }) * 1e3;
    ops::set_product_threads(1);
    return ms;
  };
  wall_step(threads);  // warm-up: OpenMP starts its threads
  for (int r = 0; r < opt.repeat; ++r) {
    t.baselines.push_back(wall_step(1));
    t.values.push_back(wall_step(threads));
  }
  return {f, s, t};
}

}  // namespace gradscope::bench
