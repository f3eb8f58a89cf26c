#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = |a|
struct Abs : Unary {
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out = f.a.cwiseAbs();
  }
  // d/da |a| = sign(a), taken as 0 at a = 0
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    b.ga.array() += b.gout.array() * b.a.array().sign();
  }
  static constexpr std::array<Domain, 1> domain{{{-2, 2, 0.1}}};
};

}  // namespace gradscope::ops
