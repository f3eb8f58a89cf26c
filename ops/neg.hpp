#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = -a
struct Neg : Unary {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out = -f.a;
  }
  // d/da = -1
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    put(b.ga, -b.gout, b.store_a);
  }
};

}  // namespace gradscope::ops
