#include "gradscope/autodiff/grad_stats.hpp"

#include <algorithm>
#include <cmath>

namespace gradscope {

template <class T>
void GradSums::add(const T* d, std::size_t n) {
  // One pass, vectorised: `omp simd` (compiled with -fopenmp-simd, no threads) lets the compiler
  // reorder these reductions, which it may not do for floating-point sums on its own. NaN or ±Inf
  // make the sum of squares non-finite; only then a scalar pass sets them aside.
  double sq = 0, ab = 0, mx = 0, zero = 0;
#pragma omp simd reduction(+ : sq, ab, zero) reduction(max : mx)
  for (std::size_t i = 0; i < n; ++i) {
    const double a = std::abs(double(d[i]));
    sq += a * a;
    ab += a;
    mx = a > mx ? a : mx;
    zero += a == 0.0 ? 1.0 : 0.0;
  }
  if (!std::isfinite(sq)) {
    sq = ab = mx = zero = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double a = std::abs(double(d[i]));
      if (!std::isfinite(a)) {
        ++(std::isnan(a) ? nan : inf);
        continue;
      }
      sq += a * a;
      ab += a;
      mx = std::max(mx, a);
      zero += a == 0.0;
    }
  }
  sum_sq += sq;
  sum_abs += ab;
  max_abs = std::max(max_abs, mx);
  zeros += std::uint64_t(zero);
  elements += n;
}

void GradSums::merge(const GradSums& o) {
  sum_sq += o.sum_sq;
  sum_abs += o.sum_abs;
  max_abs = std::max(max_abs, o.max_abs);
  elements += o.elements;
  zeros += o.zeros;
  nan += o.nan;
  inf += o.inf;
}

GradStats GradSums::stats() const {
  GradStats s;
  s.elements = elements;
  s.nonfinite = nonfinite();
  const auto finite = double(elements - nonfinite());
  s.l2 = std::sqrt(sum_sq);
  s.max_abs = max_abs;
  if (finite > 0) {
    s.rms = std::sqrt(sum_sq / finite);
    s.mean_abs = sum_abs / finite;
  }
  if (elements > 0) s.zero_share = double(zeros) / double(elements);
  return s;
}

template void GradSums::add<double>(const double*, std::size_t);
template void GradSums::add<float>(const float*, std::size_t);

}  // namespace gradscope
