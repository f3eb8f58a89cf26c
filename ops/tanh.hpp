#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = tanh(a)
struct Tanh : Unary {
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out.array() = f.a.array().tanh();
  }
  // d/da tanh(a) = 1 - tanh²(a)
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    b.ga.array() += b.gout.array() * (T(1) - b.out.array().square());
  }
};

}  // namespace gradscope::ops
