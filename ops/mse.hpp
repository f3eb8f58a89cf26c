#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// Mean squared error: out = mean((a - b)²) over all n elements
struct Mse : Loss {
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out(0, 0) = (f.a - f.b).squaredNorm() / T(f.a.size());
  }
  // d/da = 2(a - b) / n,  d/db = -2(a - b) / n
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    const T g = T(2) * b.gout(0, 0) / T(b.a.size());
    if (wants(b.ga)) b.ga += g * (b.a - b.b);
    if (wants(b.gb)) b.gb -= g * (b.a - b.b);
  }
  static constexpr std::array<Domain, 2> domain{{{-2, 2, 0}, {-2, 2, 0}}};
};

}  // namespace gradscope::ops
