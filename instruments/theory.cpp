#include "gradscope/instruments/theory.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "gradscope/ops/simd.hpp"

namespace gradscope {

namespace {

// Σφ′(x)² over n elements of the activation K's input x and output y: φ′ into a short block on the
// stack (a loop the compiler vectorises; four vector steps, summed while its stores are still in
// the nearest cache), then the squares summed in N-lane vectors with kAcc independent
// accumulators (a plain loop's one chain of dependent additions is not vectorised and leaves the
// adders idle; grad_stats.cpp's sweep does the same).
template <int N, class K, class T>
inline __attribute__((always_inline)) double slope_squares(const T* x, const T* y, std::size_t n,
                                                           T attr) {
  using D = typename simd::Lanes<N>::D;
  constexpr int kAcc = 4;
  constexpr std::size_t kStep = N * kAcc, kBlock = 4 * kStep;
  T d[kBlock];
  double total = 0;
  for (std::size_t i = 0; i < n; i += kBlock) {
    const std::size_t m = std::min(kBlock, n - i);
    for (std::size_t j = 0; j < m; ++j) d[j] = K::slope(x[i + j], y[i + j], attr);
    D s[kAcc] = {};
    std::size_t j = 0;
    for (; j + kStep <= m; j += kStep)
      for (int k = 0; k < kAcc; ++k) {
        D v;
        simd::load<N>(v, d + j + k * N);
        s[k] += v * v;
      }
    for (int k = 1; k < kAcc; ++k) s[0] += s[k];
    for (int k = 0; k < N; ++k) total += s[0][k];
    for (; j < m; ++j) total += double(d[j]) * double(d[j]);
  }
  return total;
}

template <class K, class T>
double fast_slope_squares(const T* x, const T* y, std::size_t n, T attr) {
  double total = 0;
  simd::with_lanes([&](auto lanes) __attribute__((always_inline)) {
    total = slope_squares<decltype(lanes)::value, K>(x, y, n, attr);
  });
  return total;
}

}  // namespace

template <class T>
double mean_slope_squared(const Graph<T>& g, const LayerNodes& unit) {
  if (unit.a == unit.z) return 1;
  const NodeView<T> a = g.node(unit.a);
  const auto x = g.node(a.input(0)).value(), y = a.value();
  double sum = std::numeric_limits<double>::quiet_NaN();
  ops::with_activation(a.op(), [&](auto k) {
    sum = fast_slope_squares<decltype(k)>(x.data(), y.data(), std::size_t(y.size()), a.attr());
  });
  return sum / double(y.size());
}

template <class T>
double mean_field_gain(const Graph<T>& g, const LayerNodes& up, double slope_squared,
                       double w_norm) {
  if (up.product == kNoNode || up.w == kNoNode || !up.affine)
    return std::numeric_limits<double>::quiet_NaN();
  const NodeView<T> p = g.node(up.product);
  const double n = double(g.node(p.input(0)).shape().cols);  // the dimension the product contracts
  return std::sqrt(w_norm * w_norm / n * slope_squared);
}

template double mean_slope_squared<double>(const Graph<double>&, const LayerNodes&);
template double mean_slope_squared<float>(const Graph<float>&, const LayerNodes&);
template double mean_field_gain<double>(const Graph<double>&, const LayerNodes&, double, double);
template double mean_field_gain<float>(const Graph<float>&, const LayerNodes&, double, double);

}  // namespace gradscope
