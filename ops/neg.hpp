#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = -a
struct Neg : Unary {
  template <class T>
  static void forward(Forward<T>& f) {
    f.out = -f.a;
  }
  // d/da = -1
  template <class T>
  static void backward(Backward<T>& b) {
    b.ga -= b.gout;
  }
};

}  // namespace gradscope::ops
