#pragma once
#include "gradscope/ops/reduction.hpp"

namespace gradscope::ops {

// out = p = exp(x - m) / Σ exp(x - m) on each column (axis 0) or row (axis 1), m the line's
// largest element: softmax of [1000, 1001] is finite and exact (no exp(1000) is formed).
struct Softmax : AlongAxis {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    for_each_line(
        f.attr,
        [](auto x, auto p) {
          p.array() = (x.array() - x.maxCoeff()).exp();
          p /= p.sum();
        },
        f.a, f.out);
  }
  // d/dx = p ∘ (g - Σ g ∘ p) per line, g the output's gradient (the Jacobian diag(p) - p pᵀ)
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    for_each_line(
        b.attr,
        [store = b.store_a](auto p, auto g, auto ga) {
          put(ga.array(), p.array() * (g.array() - g.cwiseProduct(p).sum()), store);
        },
        b.out, b.gout, b.ga);
  }
};

}  // namespace gradscope::ops
