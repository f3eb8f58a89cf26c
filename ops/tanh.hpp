#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = tanh(a)
struct Tanh : Activation {
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out.array() = f.a.array().tanh();
  }
  // φ′ = 1 - tanh², from the output y
  template <class T>
  static T slope(T, T y, T) {
    return T(1) - y * y;
  }
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    backward_by_slope<Tanh>(b);
  }
};

}  // namespace gradscope::ops
