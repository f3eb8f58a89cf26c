#pragma once
#include "gradscope/ops/reduction.hpp"

namespace gradscope::ops {

// out = (x - m) - ln Σ exp(x - m) on each column (axis 0) or row (axis 1), m the line's largest
// element (max_and_exp_sum); its own op rather than log(softmax(x)), which is -inf where softmax
// underflows to 0.
struct LogSoftmax : AlongAxis {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    for_each_line(
        f.attr,
        [](auto x, auto y) {
          const auto [m, s] = max_and_exp_sum(x);
          y.array() = (x.array() - m) - std::log(s);
        },
        f.a, f.out);
  }
  // d/dx = g - exp(out) Σ g per line (exp(out) is the softmax)
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    for_each_line(
        b.attr,
        [store = b.store_a](auto y, auto g, auto ga) {
          put(ga.array(), g.array() - y.array().exp() * g.sum(), store);
        },
        b.out, b.gout, b.ga);
  }
};

}  // namespace gradscope::ops
