#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = √a; a < 0 gives NaN
struct Sqrt : Unary {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out.array() = f.a.array().sqrt();
  }
  // d/da √a = 1 / (2√a) = 0.5 / out (infinite at a = 0)
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    put(b.ga.array(), b.gout.array() * T(0.5) / b.out.array(), b.store_a);
  }
  static constexpr std::array<Domain, 1> domain{{{0.2, 3, 0}}};
};

}  // namespace gradscope::ops
