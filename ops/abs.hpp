#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = |a|
struct Abs : Unary {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out = f.a.cwiseAbs();
  }
  // d/da |a| = sign(a), taken as 0 at a = 0
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    put(b.ga.array(), b.gout.array() * b.a.array().sign(), b.store_a);
  }
  static constexpr std::array<Domain, 1> domain{{{-2, 2, 0.1}}};
};

}  // namespace gradscope::ops
