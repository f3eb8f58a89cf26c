#pragma once
#include "gradscope/ops/reduction.hpp"

namespace gradscope::ops {

// out = ln Σ exp(a) down the rows (axis 0, result 1 x cols) or across the columns (axis 1,
// result rows x 1), computed as m + ln Σ exp(a - m) with m the line's largest element
// (max_and_exp_sum): finite for any finite a
struct Logsumexp : AxisReduction {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    for_each_line(
        f.attr,
        [](auto x, auto y) {
          const auto [m, s] = max_and_exp_sum(x);
          y(0) = m + std::log(s);
        },
        f.a, f.out);
  }
  // d/da = g softmax(a) per line, the softmax as exp(a - m) / s (not exp(a - out), which rounds
  // like out where a is large)
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    for_each_line(
        b.attr,
        [store = b.store_a](auto x, auto ga, auto g) {
          const auto [m, s] = max_and_exp_sum(x);
          put(ga.array(), (g(0) / s) * (x.array() - m).exp(), store);
        },
        b.a, b.ga, b.gout);
  }
};

}  // namespace gradscope::ops
