#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = tanh(a)
struct Tanh : Unary {
  template <class T>
  static void forward(Forward<T>& f) {
    f.out.array() = f.a.array().tanh();
  }
  // d/da tanh(a) = 1 - tanh²(a)
  template <class T>
  static void backward(Backward<T>& b) {
    b.ga.array() += b.gout.array() * (T(1) - b.out.array().square());
  }
};

}  // namespace gradscope::ops
