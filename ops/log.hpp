#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = ln a; a = 0 gives -inf, a < 0 gives NaN (anomaly mode reports the node)
struct Log : Unary {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out.array() = f.a.array().log();
  }
  // d/da ln a = 1/a
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    put(b.ga.array(), b.gout.array() / b.a.array(), b.store_a);
  }
  static constexpr std::array<Domain, 1> domain{{{0.2, 3, 0}}};
};

}  // namespace gradscope::ops
