#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = max(a, 0)
struct Relu : Unary {
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out = f.a.cwiseMax(T(0));
  }
  // d/da = 1 where a > 0, else 0 (0 at the kink, as in the seed's relu_gradient)
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    add_by_sign(b.ga, b.a, b.gout, [](T) { return T(0); });
  }
  static constexpr std::array<Domain, 1> domain{{{-2, 2, 0.1}}};
};

}  // namespace gradscope::ops
