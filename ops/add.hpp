#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = a + b (broadcasting)
struct Add : Elementwise {
  static constexpr bool stores_first = true;
  static constexpr bool shares_grad = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    broadcast_forward(f, [](const auto& x, const auto& y) { return x + y; });
  }
  // d/da = 1, d/db = 1, each summed back to its operand's shape
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    if (wants(b.ga)) add_reduced(b.ga, b.gout.array(), b.store_a);
    if (wants(b.gb)) add_reduced(b.gb, b.gout.array(), b.store_b);
  }
};

}  // namespace gradscope::ops
