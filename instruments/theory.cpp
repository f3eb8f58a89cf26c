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
    for (Eigen::Index i = 0; i < y.size(); ++i) {
      const double d = double(K::slope(x(i), y(i), attr));
      sum += d * d;
    }
  });
  return sum / double(y.size());
}

template <class T>
double mean_field_gain(const Graph<T>& g, const LayerNodes& unit, const LayerNodes& up) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  if (up.product == kNoNode || up.w == kNoNode) return kNaN;
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
