#pragma once
#include "gradscope/ops/kernel.hpp"
#include "gradscope/ops/vector_math.hpp"

namespace gradscope::ops {

// out = σ(a) = 1 / (1 + e⁻ᵃ) (vector_math.hpp): exactly 0 or 1 for large |a|, never NaN
struct Sigmoid : Activation {
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    vec::sigmoid(f.a.data(), f.out.data(), std::size_t(f.a.size()));
  }
  // φ′ = σ(1 - σ) ≤ 1/4, from the output y: the factor behind the post's vanishing gradients
  template <class T>
  static T slope(T, T y, T) {
    return y * (T(1) - y);
  }
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    backward_by_slope<Sigmoid>(b);
  }
};

}  // namespace gradscope::ops
