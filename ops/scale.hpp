#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = k * a for a constant k (the attribute)
struct Scale : Unary {
  static constexpr bool stores_first = true;
  static constexpr bool has_attr = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out = f.attr * f.a;
  }
  // d/da = k
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    put(b.ga, b.attr * b.gout, b.store_a);
  }
  static constexpr std::array<double, 2> test_attrs{-1.7, 3.0};
};

}  // namespace gradscope::ops
