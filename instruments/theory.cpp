#include "gradscope/instruments/theory.hpp"

#include <cmath>
#include <limits>

#include "gradscope/instruments/grad_stats.hpp"

namespace gradscope {

template <class T>
double mean_slope_squared(const Graph<T>& g, const LayerNodes& unit) {
  if (unit.a == unit.z) return 1;
  const NodeView<T> a = g.node(unit.a);
  const auto x = g.node(a.input(0)).value(), y = a.value();
  const T attr = a.attr();
  double sum = std::numeric_limits<double>::quiet_NaN();
  ops::with_activation(a.op(), [&](auto k) {
    using K = decltype(k);
    sum = 0;
    // φ′ into a block on the stack, then Σφ′² by Eigen, whose reduction is vectorised (a plain
    // loop's one chain of additions is not).
    ops::for_blocks<T>(y.size(), [&](Eigen::Index i, Eigen::Index m, T* d) {
      for (Eigen::Index j = 0; j < m; ++j) d[j] = K::slope(x(i + j), y(i + j), attr);
      sum += double(Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(d, m).square().sum());
    });
  });
  return sum / double(y.size());
}

template <class T>
double mean_field_gain(const Graph<T>& g, const LayerNodes& unit, const LayerNodes& up) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  if (up.product == kNoNode || up.w == kNoNode || !up.affine) return kNaN;
  const NodeView<T> p = g.node(up.product);
  const double n = double(g.node(p.input(0)).shape().cols);  // the dimension the product contracts
  const double w = l2_norm(g.node(up.w).value());
  return std::sqrt(w * w / n * mean_slope_squared(g, unit));
}

template double mean_slope_squared<double>(const Graph<double>&, const LayerNodes&);
template double mean_slope_squared<float>(const Graph<float>&, const LayerNodes&);
template double mean_field_gain<double>(const Graph<double>&, const LayerNodes&, const LayerNodes&);
template double mean_field_gain<float>(const Graph<float>&, const LayerNodes&, const LayerNodes&);

}  // namespace gradscope
