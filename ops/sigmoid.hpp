#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = σ(a) = 1 / (1 + e⁻ᵃ); saturates to exactly 0 or 1 for large |a|, never NaN
struct Sigmoid : Unary {
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out.array() = T(1) / (T(1) + (-f.a.array()).exp());
  }
  // d/da σ(a) = σ(a)(1 - σ(a)) ≤ 1/4 — the factor behind the seed's vanishing gradients
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    b.ga.array() += b.gout.array() * b.out.array() * (T(1) - b.out.array());
  }
};

}  // namespace gradscope::ops
