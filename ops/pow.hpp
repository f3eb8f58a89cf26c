#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = aᵖ for a constant exponent p (the attribute); a < 0 with non-integer p gives NaN
struct Pow : Unary {
  static constexpr bool has_attr = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out.array() = f.a.array().pow(f.attr);
  }
  // d/da aᵖ = p aᵖ⁻¹
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    b.ga.array() += b.gout.array() * b.attr * b.a.array().pow(b.attr - T(1));
  }
  static constexpr std::array<double, 4> test_attrs{2.0, 3.0, 0.5, -1.5};
  static constexpr std::array<Domain, 1> domain{{{0.2, 3, 0}}};
};

}  // namespace gradscope::ops
