#pragma once
// Statistics of gradient tensors: running sums from which every magnitude the monitor logs and the
// DOT export draws follows, in one vectorised pass per tensor.
#include <cstddef>
#include <cstdint>

namespace gradscope {

// Magnitude of one gradient, or of all gradients in a scope. NaN and ±Inf entries are counted in
// nonfinite and left out of every other figure, so one bad entry does not hide the rest.
struct GradStats {
  double l2 = 0, rms = 0, max_abs = 0, mean_abs = 0;
  double zero_share = 0;  // share of entries exactly 0 (dead ReLUs, unused inputs)
  std::uint64_t elements = 0, nonfinite = 0;
};

// Running figures from which GradStats follow, so that scopes aggregate without a second pass.
// The L2 norm and the mean are kept rather than Σg² and Σ|g|: squares leave the double range for
// entries below about 1e-154 or above 1e154, and a monitor of vanishing and exploding gradients
// must not report 0 for a gradient of 1e-200, nor Inf for one of 1e200.
struct GradSums {
  double l2 = 0, mean_abs = 0, max_abs = 0;  // over the finite entries
  std::uint64_t elements = 0, zeros = 0, nan = 0, inf = 0;

  template <class T>
  void add(const T* data, std::size_t n);
  template <class M>
  void add(const M& contiguous) {
    add(contiguous.data(), std::size_t(contiguous.size()));
  }
  void merge(const GradSums& o);
  GradStats stats() const;
  std::uint64_t nonfinite() const { return nan + inf; }
  bool finite() const { return nonfinite() == 0; }
};

// ‖(x, y)‖ from a = ‖x‖ and b = ‖y‖, without overflow or underflow (std::hypot where a² + b²
// would leave the double range, which is rare: the common case costs a square root).
double combine_norms(double a, double b);

// ‖x‖ over n entries without overflow or underflow in between; NaN if x holds a NaN, else Inf if
// it holds an Inf.
template <class T>
double l2_norm(const T* data, std::size_t n);
template <class M>
double l2_norm(const M& contiguous) {
  return l2_norm(contiguous.data(), std::size_t(contiguous.size()));
}

}  // namespace gradscope
