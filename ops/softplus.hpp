#pragma once
#include "gradscope/ops/kernel.hpp"
#include "gradscope/ops/vector_math.hpp"

namespace gradscope::ops {

// out = ln(1 + eᵃ), computed as max(a, 0) + ln(1 + e⁻|ᵃ|) so that large |a| neither overflows
// nor loses the small term (vector_math.hpp)
struct Softplus : Unary {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    vec::log1p_exp_neg_abs(f.a.data(), f.out.data(), std::size_t(f.a.size()));
    f.out.array() += f.a.array().max(T(0));
  }
  // d/da softplus(a) = σ(a)
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    put(b.ga.array(), b.gout.array() / (T(1) + (-b.a.array()).exp()), b.store_a);
  }
};

}  // namespace gradscope::ops
