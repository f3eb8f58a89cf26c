#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = a * b elementwise (broadcasting)
struct Mul : Elementwise {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    broadcast_forward(f, [](const auto& x, const auto& y) { return x * y; });
  }
  // d/da = b, d/db = a
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    const auto r = b.gout.rows(), c = b.gout.cols();
    if (wants(b.ga)) add_reduced(b.ga, b.gout.array() * expand(b.b, r, c).array(), b.store_a);
    if (wants(b.gb)) add_reduced(b.gb, b.gout.array() * expand(b.a, r, c).array(), b.store_b);
  }
};

}  // namespace gradscope::ops
