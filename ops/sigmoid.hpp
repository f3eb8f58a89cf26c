#pragma once
#include "gradscope/ops/kernel.hpp"
#include "gradscope/ops/vector_math.hpp"

namespace gradscope::ops {

// out = σ(a) = 1 / (1 + e⁻ᵃ) (vector_math.hpp): exactly 0 or 1 for large |a|, never NaN
struct Sigmoid : Unary {
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    vec::sigmoid(f.a.data(), f.out.data(), std::size_t(f.a.size()));
  }
  // d/da σ(a) = σ(a)(1 - σ(a)) ≤ 1/4 — the factor behind the seed's vanishing gradients
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    b.ga.array() += b.gout.array() * b.out.array() * (T(1) - b.out.array());
  }
};

}  // namespace gradscope::ops
