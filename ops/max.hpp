#pragma once
#include "gradscope/ops/reduction.hpp"

namespace gradscope::ops {

// out = max of a down the rows (axis 0, result 1 x cols) or across the columns (axis 1, result
// rows x 1)
struct Max : AxisReduction {
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    for_each_line(
        f.attr, [](auto x, auto y) { y(0) = x.maxCoeff(); }, f.a, f.out);
  }
  // d/da = g at the line's largest element, 0 elsewhere; of equal largest elements the first
  // takes it (a subgradient: max is not differentiable at a tie)
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    for_each_line(
        b.attr,
        [](auto x, auto ga, auto g) {
          Eigen::Index k = 0;
          x.maxCoeff(&k);
          ga(k) += g(0);
        },
        b.a, b.ga, b.gout);
  }
};

}  // namespace gradscope::ops
