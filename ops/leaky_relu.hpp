#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = a where a > 0, else s·a, for a constant slope s (the attribute)
struct LeakyRelu : Activation {
  static constexpr bool has_attr = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out.array() = (f.a.array() > T(0)).select(f.a.array(), f.attr * f.a.array());
  }
  // φ′(x) = 1 where x > 0, else s
  template <class T>
  static T slope(T x, T, T s) {
    return x > T(0) ? T(1) : s;
  }
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    backward_by_slope<LeakyRelu>(b);
  }
  static constexpr std::array<double, 2> test_attrs{0.01, 0.2};
  static constexpr std::array<Domain, 1> domain{{{-2, 2, 0.1}}};
};

}  // namespace gradscope::ops
