#include "gradscope/instruments/theory.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "gradscope/ops/simd.hpp"

namespace gradscope {

namespace {

// Σφ′(x)² over n elements of the activation K's input x and output y, in N-lane vectors with kAcc
// independent accumulators (a plain loop's one chain of dependent additions is not vectorised and
// leaves the adders idle; grad_stats.cpp's sweep does the same). Like the sweep, the loop is bound
// by its vector operations, and takes 8 lanes where the CPU has AVX-512. Each vector's N slopes are
// evaluated in a loop of N, which the compiler turns into vector operations held in registers.
// Accumulates in blocks of kBlock elements whose sums are then added, so that the rounding error
// grows with the block length plus the number of blocks rather than with n.
template <int N, class K, class T>
inline __attribute__((always_inline)) double slope_squares(const T* x, const T* y, std::size_t n,
                                                           T attr) {
  using D = typename simd::Lanes<N>::D;
  constexpr int kAcc = N == 8 ? 8 : 4;
  constexpr std::size_t kStep = N * kAcc, kBlock = 64 * kStep;
  double total = 0;
  std::size_t i = 0;
  while (n - i >= kStep) {
    D s[kAcc] = {};
    const std::size_t stop = i + std::min(kBlock, (n - i) / kStep * kStep);
    for (; i < stop; i += kStep) {
#pragma GCC unroll 8
      for (int k = 0; k < kAcc; ++k) {
        T d[N];
#pragma GCC unroll 8
        for (int j = 0; j < N; ++j) d[j] = K::slope(x[i + k * N + j], y[i + k * N + j], attr);
        D v;
        simd::load<N>(v, d);
        s[k] += v * v;
      }
    }
    for (int k = 1; k < kAcc; ++k) s[0] += s[k];
    for (int k = 0; k < N; ++k) total += s[0][k];
  }
  for (; i < n; ++i) {
    const double d = K::slope(x[i], y[i], attr);
    total += d * d;
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
  if (!has_mean_field(up)) return std::numeric_limits<double>::quiet_NaN();
  const NodeView<T> p = g.node(up.product);
  const double n = double(g.node(p.input(0)).shape().cols);  // the dimension the product contracts
  return std::sqrt(w_norm * w_norm / n * slope_squared);
}

template double mean_slope_squared<double>(const Graph<double>&, const LayerNodes&);
template double mean_slope_squared<float>(const Graph<float>&, const LayerNodes&);
template double mean_field_gain<double>(const Graph<double>&, const LayerNodes&, double, double);
template double mean_field_gain<float>(const Graph<float>&, const LayerNodes&, double, double);

}  // namespace gradscope
