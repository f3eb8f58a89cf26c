#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = a - b (broadcasting)
struct Sub : Elementwise {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    broadcast_forward(f, [](const auto& x, const auto& y) { return x - y; });
  }
  // d/da = 1, d/db = -1
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    if (wants(b.ga)) add_reduced(b.ga, b.gout.array(), b.store_a);
    if (wants(b.gb)) add_reduced(b.gb, -b.gout.array(), b.store_b);
  }
};

}  // namespace gradscope::ops
