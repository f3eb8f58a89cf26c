#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = aᵖ for a constant exponent p (the attribute); a < 0 with non-integer p gives NaN
struct Pow : Unary {
  static constexpr bool has_attr = true;
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out.array() = f.a.array().pow(f.attr);
  }
  // d/da aᵖ = p aᵖ⁻¹, and 0 for p = 0 (a⁰ = 1 is constant), also at a = 0 where p aᵖ⁻¹ is 0 · ∞
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    if (b.attr == T(0)) {
      if (b.store_a) b.ga.setZero();
      return;
    }
    put(b.ga.array(), b.gout.array() * b.attr * b.a.array().pow(b.attr - T(1)), b.store_a);
  }
  static constexpr std::array<double, 5> test_attrs{2.0, 3.0, 0.5, -1.5, 0.0};
  static constexpr std::array<Domain, 1> domain{{{0.2, 3, 0}}};
};

}  // namespace gradscope::ops
